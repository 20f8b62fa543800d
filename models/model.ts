/**
 * The model interface. The harness asks a model only through it, so a new model is one new
 * file plus one line in `models/registry.ts`.
 *
 * Data reaches a model as a float32 tensor of shape [B, D] (D = H·W·C, row-major HWC): 0/1
 * values for `binary` models, pixel/255 in [0, 1] for `grey` models. Models that need images
 * reshape internally with the {@link ImageShape} they were created with.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ImageShape, Split } from "../datasets/dataset.ts";
import type { Translator } from "../datasets/domains.ts";
import type { PatchLayout } from "../datasets/patches.ts";
import type { InputKind } from "../datasets/batch.ts";
import type { Stream } from "../core/rng.ts";
import type { ModelOptions, OptionSchema } from "./options.ts";

/** The three families of the design (`bernoulli`, the factorized floor, counts as autoregressive). */
export type Family = "autoregressive" | "latent-variable" | "adversarial";

/** What a model can compute; the runner picks metrics from this. */
export type Capability =
  | "sample"
  | "exact-likelihood"
  | "elbo"
  | "reconstruct"
  | "conditional"
  /** Translates images between domains of datasets/domains.ts ({@link GenerativeModel.translation}). */
  | "translate"
  /** Generates images from captions of datasets/captions.ts ({@link GenerativeModel.fromCaptions}). */
  | "caption"
  /** Completes whole images from a few of their patches ({@link GenerativeModel.complete}). */
  | "complete";

// How the model sees pixels; defined beside the batches that it shapes.
export type { InputKind } from "../datasets/batch.ts";

// Resolved hyperparameters, defined beside the option schema that declares their keys.
export type { ModelOptions } from "./options.ts";

/**
 * A published number a model is measured against (issue: reproduce the literature). `protocol`
 * says how the paper got it, so a reader can tell whether genbench's run is comparable.
 */
export interface PublishedReference {
  /** Authors, year and title, e.g. "van den Oord, Kalchbrenner & Kavukcuoglu 2016, Pixel Recurrent Neural Networks". */
  paper: string;
  /** The metric it corresponds to in genbench, e.g. "nll_nats" or "bpd". */
  metric: string;
  value: number;
  unit: "nats" | "bits/dim";
  /** "exact", "elbo", "iwae-5000", "ais", "parzen"… */
  kind: string;
  dataset: "mnist" | "cifar10";
  protocol: {
    binarization?: "static" | "dynamic";
    /** e.g. "50k train / 10k valid / 10k test". */
    split?: string;
    /** Epochs or steps and batch size, as the paper states them. */
    budget?: string;
    schedule?: string;
    /** k of the IWAE evaluation bound. */
    iwaeK?: number;
    /** The architecture the paper used, where it differs from genbench's canonical one. */
    architecture?: string;
  };
  /** "confirmed": read in the paper or a reproduction quoting it; else "unconfirmed". */
  status: "confirmed" | "unconfirmed";
  /** Suite entry variant that carries the paper's architecture, where it differs. */
  variant?: string;
  note?: string;
}

/** Per-example ELBO terms, in nats. */
export interface ElboTerms {
  /** log p(x) lower bound per example: E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)). */
  elbo: tf.Tensor1D;
  /** E_q[−log p(x|z)] per example (the reconstruction part). */
  recon: tf.Tensor1D;
  /** KL(q(z|x) ‖ p(z)) per example. */
  kl: tf.Tensor1D;
  /** The decoder's mean E[x|z] for the sampled z, [B, D]. */
  mean: tf.Tensor2D;
}

/** A frozen decoder from latent codes to images (see {@link GenerativeModel.generator}). */
export interface LatentDecoder {
  /** Size of z; its prior is N(0, I). */
  latent: number;
  /** Mean images [B, D] in [0, 1] for codes z [B, latent] (and labels [B] if conditional). */
  decode(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D;
  dispose(): void;
}

/** A trainable generative model. */
export interface GenerativeModel {
  /**
   * One optimisation step on a batch [B, D]. Returns named scalar losses; the caller reads
   * them only when it logs (reading forces a GPU sync) and disposes them.
   */
  trainStep(
    batch: tf.Tensor2D,
    noise: Stream,
    labels?: tf.Tensor1D,
  ): Record<string, tf.Scalar>;
  /**
   * `n` samples as a [n, D] array in the model's input units (0/1 for `binary`, [0, 1] for
   * `grey`, 0..255 for `byte`). Conditional models take one int32 label per sample.
   */
  sample?(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array>;
  /**
   * The model as a translator (capability `translate`): the DOMAINS indices it was trained on
   * and the translation between any two of them.
   */
  translation?(): { domains: readonly number[]; translate: Translator };
  /**
   * Images [count × D] in [0, 1] for captions given as token ids [count × length]
   * (datasets/captions.ts `encodeCaption`), one per caption (capability `caption`).
   */
  fromCaptions?(tokens: Int32Array, count: number, noise: Stream): Promise<Float32Array>;
  /**
   * Whole images [count × D] in [0, 1] and masks [count × D] of where the given patches belong,
   * from `patches` [count × K × P·P·C] in [0, 1] cut from unknown positions laid out as
   * {@link GenerativeModel.patchLayout} says (capability `complete`; datasets/patches.ts cuts them).
   */
  complete?(
    patches: Float32Array,
    count: number,
    noise: Stream,
  ): Promise<{ images: Float32Array; masks: Float32Array }>;
  /** The K, P and margin of the patches {@link GenerativeModel.complete} takes. */
  readonly patchLayout?: PatchLayout;
  /** Exact log p(x) in nats per example (capability `exact-likelihood`). */
  logProb?(x: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor1D;
  /** ELBO terms per example with one posterior sample each (capability `elbo`). */
  elbo?(x: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): ElboTerms;
  /** The importance-weighted bound log (1/k) Σ p(x, z_i)/q(z_i|x) per example (capability `elbo`). */
  iwae?(x: tf.Tensor2D, k: number, noise: Stream, labels?: tf.Tensor1D): tf.Tensor1D;
  /**
   * The encoder (capability `reconstruct`): the posterior mean [B, Z] and, for a Gaussian
   * q(z|x), its log-variance [B, Z]; a deterministic encoder returns its code as `mean`.
   */
  encode?(x: tf.Tensor2D, labels?: tf.Tensor1D): { mean: tf.Tensor2D; logVar?: tf.Tensor2D };
  /** The decoder's mean E[x|z] [B, D] for codes z [B, Z] (capability `reconstruct`). */
  decode?(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D;
  /**
   * The generator as a deterministic function of latent codes z ~ N(0, I), for decoder-only
   * models (GANs): latent interpolations and AIS. `noise` supplies any reference draws the model
   * needs to freeze itself (e.g. batch-norm statistics). Dispose the result when done.
   */
  generator?(noise: Stream): LatentDecoder;
  /** The named trainable tensors, for checkpoints and the parameter count. */
  weights(): Map<string, tf.Variable>;
  /**
   * The model's optimizers in a fixed order, so that checkpoints can save and restore their
   * state (`getWeights`/`setWeights`) and a resumed run continues exactly.
   */
  optimizers(): tf.Optimizer[];
  /** Free every tensor the model holds. */
  dispose(): void;
}

/** What the registry knows about a model before building it. */
export interface ModelSpec {
  name: string;
  family: Family;
  /** One line for `list` and the README. */
  description: string;
  capabilities: readonly Capability[];
  /** The pixel representation the model trains on, which may depend on its options. */
  input: InputKind | ((options: ModelOptions) => InputKind);
  /**
   * The options `create` reads, typed, with defaults, ranges and meanings (models/options.ts);
   * their defaults are `defaultOptions(spec.options)`.
   */
  options: OptionSchema;
  /** The published numbers this model is measured against. */
  references?: readonly PublishedReference[];
  /**
   * The split the model trains on, derived from the dataset's training split (e.g. the digits
   * put through domains, labelled by domain); absent: the training split itself. Where it is
   * given, `trainStep` gets its labels whatever the capabilities. Deterministic: a resumed run
   * derives the same split.
   */
  trainingSplit?(train: Split, shape: ImageShape, options: ModelOptions): Split;
  create(args: ModelArgs): GenerativeModel;
}

/** What `ModelSpec.create` gets. */
export interface ModelArgs {
  shape: ImageShape;
  /** Resolved options: the schema's defaults overridden by the suite and the user. */
  options: ModelOptions;
  /** The run's initialisation stream: every initial weight comes from it. */
  init: Stream;
  /**
   * The training split's pixels (0..255, `count` rows of D bytes), for a model fitted or
   * initialised from data in closed form (`bernoulli`); absent where a test builds a model.
   */
  train?: { images: Uint8Array; labels: Uint8Array; count: number };
}

/** Total number of trainable scalars. */
export function parameterCount(model: GenerativeModel): number {
  let count = 0;
  for (const weight of model.weights().values()) count += weight.size;
  return count;
}

/** The input kind of a spec under the given options. */
export function inputKindOf(spec: ModelSpec, options: ModelOptions): InputKind {
  return typeof spec.input === "function" ? spec.input(options) : spec.input;
}
