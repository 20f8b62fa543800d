/**
 * The GAN bases. {@link GanBase}: two Adam players, one adversarial step (D on real and fake,
 * then G through the updated D, each with its gradient norm; an optional extra loss term per
 * player, e.g. InfoGAN's mutual-information term) and the weights/optimizer/dispose
 * bookkeeping; `gan-mlp` builds on it. {@link DcganBase} adds the DCGAN generator and
 * discriminator (shared.ts) and the frozen-BN sampler: for sampling, G's batch-norm statistics
 * are re-estimated from a reference batch of prior draws (taken from the caller's stream) and
 * frozen ("precise BN", Wu & Johnson 2021), so that a sample never depends on which other
 * samples share its batch; `dcgan`, `cgan` and `infogan` build on it.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel } from "../model.ts";
import { type OptionSchema, type OptionValues, trainingOptions } from "../options.ts";
import { type Layer, layerVariables } from "../layers/nn.ts";
import { Trainable } from "../trainable.ts";
import type { Moments } from "../layers/batch_norm.ts";
import { checkStride2Shape } from "../layers/checks.ts";
import {
  DcganDiscriminator,
  DcganGenerator,
  discriminatorLoss,
  GAN_LOSSES,
  type GanLoss,
  generatorLoss,
  playerStep,
  toUnit,
} from "./shared.ts";

/** The options every GAN reads. */
export const GAN_OPTIONS = {
  ...trainingOptions(128, 2e-4, "Adam step size of G (and of D unless set apart)"),
  beta1: { type: "number", default: 0.5, min: 0, below: 1, doc: "Adam β1 of both players" },
  loss: {
    type: "string",
    default: "non-saturating",
    choices: GAN_LOSSES,
    doc: "G's loss: non-saturating −log D(G(z)) or minimax log(1 − D(G(z)))",
  },
} satisfies OptionSchema;

/** The options of the DCGAN family (`dcgan`, `cgan`, `infogan`). */
export const DCGAN_OPTIONS = {
  ...GAN_OPTIONS,
  learningRateD: {
    type: "number",
    default: 0,
    min: 0,
    doc: "D's own Adam step size (a slower D helps short runs); 0: learningRate",
  },
  width: { type: "int", default: 64, min: 1, doc: "channels of D's first conv (every layer ∝)" },
  labelSmoothing: {
    type: "number",
    default: 0,
    min: 0,
    below: 1,
    doc: "one-sided label smoothing s: D's target on real images is 1 − s",
  },
  bnReference: {
    type: "int",
    default: 256,
    min: 1,
    doc: "prior draws that freeze G's batch-norm statistics for sampling",
  },
} satisfies OptionSchema;

/** How a discriminator sees a batch: "real" logits [B, 1], and its trunk's features. */
export interface Judgement {
  logits: tf.Tensor2D;
  features?: tf.Tensor2D;
}

/** What one adversarial step needs. */
export interface AdversarialStep {
  /** Real images in [−1, 1]. */
  real: tf.Tensor2D;
  /** G's images for D's update, made outside D's gradient tape. */
  fake: tf.Tensor2D;
  discriminate(x: tf.Tensor2D): Judgement;
  /** G's images for G's update (on G's tape). */
  generate(): tf.Tensor2D;
  /**
   * An extra loss term added to a player's adversarial loss, from D's features on the fakes;
   * it may log scalars in `logged` (kept, returned with the step's losses).
   */
  extra?(player: "d" | "g", features: tf.Tensor2D, logged: Record<string, tf.Scalar>): tf.Scalar;
}

/** Two players with their Adam optimisers and the adversarial step. */
export abstract class GanBase extends Trainable implements GenerativeModel {
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #loss: GanLoss;
  readonly #realTarget: number;

  constructor(
    readonly name: string,
    options: OptionValues<typeof GAN_OPTIONS> & { learningRateD?: number; labelSmoothing?: number },
  ) {
    super();
    this.#loss = options.loss as GanLoss;
    this.#realTarget = 1 - (options.labelSmoothing ?? 0);
    const lrD = options.learningRateD ? options.learningRateD : options.learningRate;
    this.#optimizerD = this.adam(lrD, options.beta1);
    this.#optimizerG = this.adam(options.learningRate, options.beta1);
  }

  /** G's layers, in parameter order. */
  protected abstract generatorLayers(): Layer[];
  /** D's layers (with any head trained with D), in parameter order. */
  protected abstract discriminatorLayers(): Layer[];

  abstract trainStep(
    batch: tf.Tensor2D,
    noise: Stream,
    labels?: tf.Tensor1D,
  ): Record<string, tf.Scalar>;
  abstract sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array>;

  /**
   * D's update (−log D(x) − log(1 − D(G(z))), real target 1 − s), then G's through the updated
   * D. Returns both losses, mean D(x) and D(G(z)), both gradient norms, and what `extra` logs.
   */
  protected adversarialStep(step: AdversarialStep): Record<string, tf.Scalar> {
    const { real, fake, discriminate, generate, extra } = step;
    const logged: Record<string, tf.Scalar> = {};
    const out: Record<string, tf.Scalar> = {};
    const d = playerStep(this.#optimizerD, layerVariables(this.discriminatorLayers()), () => {
      const realLogits = discriminate(real).logits;
      const judged = discriminate(fake);
      out.d_real = tf.keep(tf.mean(tf.sigmoid(realLogits)));
      out.d_fake = tf.keep(tf.mean(tf.sigmoid(judged.logits)));
      const adversarial = discriminatorLoss(realLogits, judged.logits, this.#realTarget);
      if (!extra) return adversarial;
      out.d_loss = tf.keep(adversarial);
      return tf.add(adversarial, extra("d", judged.features!, logged)) as tf.Scalar;
    });
    const g = playerStep(this.#optimizerG, layerVariables(this.generatorLayers()), () => {
      const judged = discriminate(generate());
      const adversarial = generatorLoss(judged.logits, this.#loss);
      if (!extra) return adversarial;
      out.g_loss = tf.keep(adversarial);
      return tf.add(adversarial, extra("g", judged.features!, logged)) as tf.Scalar;
    });
    // With an extra term, the logged losses are the adversarial parts alone.
    if (extra) tf.dispose([d.loss, g.loss]);
    return {
      d_loss: extra ? out.d_loss : d.loss,
      g_loss: extra ? out.g_loss : g.loss,
      d_real: out.d_real,
      d_fake: out.d_fake,
      d_grad_norm: d.gradNorm,
      g_grad_norm: g.gradNorm,
      ...logged,
    };
  }

  /** Real images in [−1, 1] from pixels in [0, 1]. */
  protected signed(batch: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sub(tf.mul(batch, 2), 1)) as tf.Tensor2D;
  }

  protected parts(): Layer[] {
    return [...this.generatorLayers(), ...this.discriminatorLayers()];
  }
}

/** G's inputs for one step, and the tensors to free after it. */
export interface GeneratorInputs {
  input: tf.Tensor2D;
  /** Extra input planes for D (cgan's labels). */
  planes?: tf.Tensor4D;
  held: tf.Tensor[];
}

/** A generator with frozen batch-norm statistics: images in [0, 1] from G's inputs. */
export interface FrozenGenerator {
  decode(input: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Samples generated per forward pass (bounds memory for large n). */
const SAMPLE_CHUNK = 256;

/** A GAN with genbench's DCGAN generator and discriminator (shared.ts). */
export abstract class DcganBase extends GanBase {
  protected readonly g: DcganGenerator;
  protected readonly d: DcganDiscriminator;
  protected readonly reference: number;

  /** `inputs`: G's input size; `planes`: extra input planes of D (cgan's one-hot labels). */
  constructor(
    name: string,
    readonly shape: ImageShape,
    options: OptionValues<typeof DCGAN_OPTIONS>,
    inputs: number,
    init: Stream,
    planes = 0,
  ) {
    checkStride2Shape(name, shape);
    super(name, options);
    this.reference = options.bnReference;
    this.g = new DcganGenerator(shape, inputs, options.width, init);
    this.d = new DcganDiscriminator(shape, options.width, init, planes);
  }

  /** G's inputs for a training batch of `n` (drawn from `noise`). */
  protected abstract generatorInputs(
    n: number,
    noise: Stream,
    labels?: tf.Tensor1D,
  ): GeneratorInputs;

  /** An extra loss term per player (see {@link AdversarialStep.extra}); none by default. */
  protected extraLoss?(
    player: "d" | "g",
    features: tf.Tensor2D,
    logged: Record<string, tf.Scalar>,
  ): tf.Scalar;

  protected generatorLayers(): Layer[] {
    return this.g.layers();
  }

  protected discriminatorLayers(): Layer[] {
    return this.d.layers();
  }

  trainStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar> {
    const { input, planes, held } = this.generatorInputs(batch.shape[0], noise, labels);
    const real = this.signed(batch);
    const fake = tf.tidy(() => this.g.apply(input).images);
    try {
      return this.adversarialStep({
        real,
        fake,
        discriminate: (x) => this.d.apply(x, planes),
        generate: () => this.g.apply(input).images,
        extra: this.extraLoss?.bind(this),
      });
    } finally {
      tf.dispose([input, real, fake, ...held, ...(planes ? [planes] : [])]);
    }
  }

  /** G with its batch-norm statistics frozen from its own statistics on `reference` inputs. */
  protected freeze(reference: () => tf.Tensor2D): FrozenGenerator {
    const stats: Moments[] = tf.tidy(() => {
      const { stats } = this.g.apply(reference());
      return stats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
    });
    return {
      decode: (input) => tf.tidy(() => toUnit(this.g.apply(input, stats).images)),
      dispose: () => tf.dispose(stats.flatMap((s) => [s.mean, s.variance])),
    };
  }

  /**
   * `n` images in [0, 1], made in chunks by `chunk(start, count)` (which draws its own inputs
   * and frees them); `decoder` is freed at the end.
   */
  protected async sampleInChunks(
    n: number,
    decoder: { dispose(): void },
    chunk: (start: number, count: number) => tf.Tensor2D,
  ): Promise<Float32Array> {
    const dim = dimOf(this.shape);
    const out = new Float32Array(n * dim);
    try {
      for (let start = 0; start < n; start += SAMPLE_CHUNK) {
        const images = chunk(start, Math.min(SAMPLE_CHUNK, n - start));
        out.set(await images.data(), start * dim);
        images.dispose();
      }
    } finally {
      decoder.dispose();
    }
    return out;
  }
}
