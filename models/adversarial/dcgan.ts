/**
 * `dcgan` (Radford et al. 2016) and `cgan`, its class-conditional form (Mirza & Osindero 2014),
 * with the architecture of DESIGN.md: G: z=100 → dense 7·7·128 → BN → ReLU → deconv 64 4×4/2 →
 * BN → ReLU → deconv 1 4×4/2 → tanh; D: conv 64 4×4/2 → LReLU 0.2 → conv 128 4×4/2 → BN →
 * LReLU 0.2 → dense 1; Adam 2e-4, β1 = 0.5, DCGAN init N(0, 0.02²). On MNIST `dcgan` has
 * 917,122 parameters (G 778,305 + D 138,817; the first BN is per feature over the 6,272 dense
 * outputs, as the PyTorch reference count implies), as in REFERENCE.md.
 *
 * `cgan` feeds the one-hot label to G beside z and to D as constant input planes (one per class),
 * so D judges image and label together. Both train on grey levels scaled to [−1, 1] and sample
 * in [0, 1]. Options: `width` (canonical 64) scales every layer for narrower variants; `loss`
 * `non-saturating` (default) or `minimax`; `labelSmoothing` s makes D's real target 1 − s
 * (default 0); `learningRateD` gives D its own Adam rate (default: `learningRate`);
 * `bnReference` sets the reference draws that freeze G's batch norm for sampling.
 * Sampling freezes G's batch-norm statistics from a reference batch of prior draws (see
 * `gan_layers.ts`). They are samplers with a generator: no likelihood of their own (Parzen and
 * AIS estimate one from outside).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GenerativeModel, LatentDecoder, ModelArgs, ModelSpec } from "../model.ts";
import { layerVariables, normalTensor } from "../layers/nn.ts";
import { checkLabels, checkStride2Shape, oneHot } from "../layers/checks.ts";
import type { Moments } from "../layers/batch_norm.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import {
  DcganDiscriminator,
  DcganGenerator,
  discriminatorLoss,
  type GanLoss,
  ganLossOption,
  generatorLoss,
  playerStep,
  positiveInt,
  positiveNumber,
  realTargetOption,
  toUnit,
} from "./shared.ts";

/** Samples generated per forward pass (bounds memory for large n). */
const SAMPLE_CHUNK = 256;

/** A DCGAN, unconditional (`classes` = 0) or class-conditional. */
export class Dcgan implements GenerativeModel {
  readonly latent: number;
  readonly classes: number;
  readonly #name: string;
  readonly #shape: ImageShape;
  readonly #g: DcganGenerator;
  readonly #d: DcganDiscriminator;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #loss: GanLoss;
  readonly #reference: number;
  readonly #realTarget: number;

  constructor(name: string, { shape, options, init }: ModelArgs, conditional: boolean) {
    this.#name = name;
    checkStride2Shape(name, shape);
    this.#loss = ganLossOption(name, options);
    this.#realTarget = realTargetOption(name, options);
    this.#shape = shape;
    this.latent = positiveInt(name, options, "latent");
    this.classes = conditional ? positiveInt(name, options, "classes") : 0;
    this.#reference = positiveInt(name, options, "bnReference");
    const width = positiveInt(name, options, "width");
    this.#g = new DcganGenerator(shape, this.latent + this.classes, width, init);
    this.#d = new DcganDiscriminator(shape, width, init, this.classes);
    const lr = positiveNumber(name, options, "learningRate");
    const beta1 = Number(options.beta1);
    // D's rate defaults to G's; a slower D helps short runs where D otherwise wins at once.
    const lrD = options.learningRateD === undefined
      ? lr
      : positiveNumber(name, options, "learningRateD");
    this.#optimizerD = tf.train.adam(lrD, beta1);
    this.#optimizerG = tf.train.adam(lr, beta1);
  }

  /** G's input: z, with the one-hot label appended for `cgan`. */
  #input(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    if (this.classes === 0) return z;
    return tf.concat([z, oneHot(this.#labels(labels, z.shape[0]), this.classes)], 1);
  }

  /** One constant plane per class for D's input [B, H, W, classes] (`cgan` only). */
  #planes(labels: tf.Tensor1D | undefined, batch: number): tf.Tensor4D | undefined {
    if (this.classes === 0) return undefined;
    const { height, width } = this.#shape;
    const codes = tf.reshape(oneHot(this.#labels(labels, batch), this.classes), [
      batch,
      1,
      1,
      this.classes,
    ]);
    return tf.tile(codes, [1, height, width, 1]) as tf.Tensor4D;
  }

  #labels(labels: tf.Tensor1D | undefined, batch: number): tf.Tensor1D {
    if (!labels) {
      throw new UsageError(
        `${this.#name}: this model is class-conditional and needs labels (the dataset has none)`,
      );
    }
    if (labels.shape[0] !== batch) {
      throw new UsageError(`${this.#name}: expected ${batch} labels, got ${labels.shape[0]}`);
    }
    return labels;
  }

  trainStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    if (this.classes > 0) this.#labels(labels, n);
    const z = normalTensor([n, this.latent], noise) as tf.Tensor2D;
    const input = tf.tidy(() => this.#input(z, labels));
    const planes = tf.tidy(() => this.#planes(labels, n));
    const real = tf.tidy(() => tf.sub(tf.mul(batch, 2), 1)) as tf.Tensor2D;
    const out: Record<string, tf.Scalar> = {};
    // D: −log D(x) − log(1 − D(G(z))), with G(z) made outside D's gradient tape.
    const fake = tf.tidy(() => this.#g.apply(input).images);
    const d = playerStep(this.#optimizerD, layerVariables(this.#d.layers()), () => {
      const realLogits = this.#d.apply(real, planes).logits;
      const fakeLogits = this.#d.apply(fake, planes).logits;
      out.d_real = tf.keep(tf.mean(tf.sigmoid(realLogits)));
      out.d_fake = tf.keep(tf.mean(tf.sigmoid(fakeLogits)));
      return discriminatorLoss(realLogits, fakeLogits, this.#realTarget);
    });
    // G: −log D(G(z)) or log(1 − D(G(z))), through the updated D.
    const g = playerStep(this.#optimizerG, layerVariables(this.#g.layers()), () => {
      const logits = this.#d.apply(this.#g.apply(input).images, planes).logits;
      return generatorLoss(logits, this.#loss);
    });
    tf.dispose([z, input, real, fake, ...(planes ? [planes] : [])]);
    return {
      d_loss: d.loss,
      g_loss: g.loss,
      d_real: out.d_real,
      d_fake: out.d_fake,
      d_grad_norm: d.gradNorm,
      g_grad_norm: g.gradNorm,
    };
  }

  /**
   * G with its batch-norm statistics frozen from `bnReference` prior draws of `noise` (for
   * `cgan`, classes in turn): a deterministic map from z (and labels) to images in [0, 1].
   */
  generator(noise: Stream): LatentDecoder {
    const count = this.#reference;
    const z = normalTensor([count, this.latent], noise) as tf.Tensor2D;
    const labels = this.classes > 0
      ? tf.tensor1d(Int32Array.from({ length: count }, (_, i) => i % this.classes), "int32")
      : undefined;
    const stats: Moments[] = tf.tidy(() => {
      const { stats } = this.#g.apply(this.#input(z, labels));
      return stats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
    });
    tf.dispose([z, ...(labels ? [labels] : [])]);
    return {
      latent: this.latent,
      decode: (codes, y) =>
        tf.tidy(() => toUnit(this.#g.apply(this.#input(codes, y), stats).images)),
      dispose: () => tf.dispose(stats.flatMap((s) => [s.mean, s.variance])),
    };
  }

  /** `n` images in [0, 1]; `cgan` takes one label per sample (default: classes in turn). */
  async sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array> {
    if (labels && this.classes > 0) checkLabels(this.#name, labels, n, this.classes);
    const all = this.classes > 0
      ? labels ?? Int32Array.from({ length: n }, (_, i) => i % this.classes)
      : undefined;
    const decoder = this.generator(noise);
    const out = new Float32Array(n * dimOf(this.#shape));
    try {
      for (let start = 0; start < n; start += SAMPLE_CHUNK) {
        const count = Math.min(SAMPLE_CHUNK, n - start);
        const z = normalTensor([count, this.latent], noise) as tf.Tensor2D;
        const y = all ? tf.tensor1d(all.subarray(start, start + count), "int32") : undefined;
        const images = decoder.decode(z, y);
        out.set(await images.data(), start * dimOf(this.#shape));
        tf.dispose([z, images, ...(y ? [y] : [])]);
      }
    } finally {
      decoder.dispose();
    }
    return out;
  }

  weights(): Map<string, tf.Variable> {
    return new Map([...this.#g.layers(), ...this.#d.layers()].flatMap((l) => l.variables()));
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizerD, this.#optimizerG];
  }

  dispose(): void {
    for (const variable of this.weights().values()) variable.dispose();
    this.#optimizerD.dispose();
    this.#optimizerG.dispose();
  }
}

const DEFAULTS = {
  batchSize: 128,
  learningRate: 0.0002,
  beta1: 0.5,
  latent: 100,
  width: 64,
  loss: "non-saturating",
  labelSmoothing: 0,
  bnReference: 256,
};

/** `dcgan`: the DCGAN of DESIGN.md (917,122 parameters on MNIST at width 64). */
export const dcgan: ModelSpec = {
  name: "dcgan",
  family: "adversarial",
  description: "DCGAN: G z=100 → 7·7·128 → deconv 64 → deconv 1 (BN, ReLU, tanh); " +
    "D conv 64 → conv 128 (BN, LReLU) → 1",
  capabilities: ["sample"],
  input: "grey",
  defaults: DEFAULTS,
  create: (args) => new Dcgan("dcgan", args, false),
};

/** `cgan`: the DCGAN conditioned on the class label (one-hot into G, label planes into D). */
export const cgan: ModelSpec = {
  name: "cgan",
  family: "adversarial",
  description: "class-conditional DCGAN: one-hot label appended to z and as D input planes",
  capabilities: ["sample", "conditional"],
  input: "grey",
  defaults: { ...DEFAULTS, classes: 10 },
  create: (args) => new Dcgan("cgan", args, true),
};
