/**
 * `progan`: the Progressive GAN (Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of
 * GANs for Improved Quality, Stability, and Variation") at MNIST scale: G and D grow from H/4 to
 * H/2 to H (7 → 14 → 28 on MNIST; 3 → 6 → 12 on the synthetic data), each new resolution faded
 * in linearly over the first half of its stage; pixel norm in G, minibatch stddev in D,
 * equalized learning rate (progan_nets.ts, ../layers/progan_layers.ts). Loss: WGAN-GP
 * (Gulrajani et al. 2017) with the paper's drift term, λ = 10, ε_drift = 0.001, one D step per G
 * step, Adam(lr 0.001, β1 = 0, β2 = 0.99, ε = 1e-8), as in the paper.
 *
 * The schedule is a function of the training images seen before a step, i.e. of D's optimizer
 * iteration count (a host number that checkpoints save and restore) times the batch size: a
 * resumed run grows exactly as an uninterrupted one, and trainStep reads nothing back from the
 * device. Stage s ≥ 1 starts after s·imagesPerStage images; the last stage runs to the end of
 * the budget. A stage change changes tensor shapes: a recorded GPU step must be re-recorded per
 * stage (and α is a per-step scalar input during fade-ins). The webgpu step replay
 * (core/webgpu/stepper.ts) does neither yet; it turns itself off for progan, whose logged stage
 * and α are host scalars ("a loss is computed on the host"), so every step runs through tfjs.
 *
 * Sampling and `generator()` use the stage and α the model has reached; before the last stage
 * its images are upsampled (nearest) to full size, which the growth view's growth.json records.
 * The Adam state is not reset at a stage change (Karras et al.'s code resets it); a new layer
 * starts with zero moments anyway, since an unused variable gets no update.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel, LatentDecoder, ModelSpec } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions, trainingOptions } from "../options.ts";
import { type Layer, layerVariables, namedWeights, normalTensor } from "../layers/nn.ts";
import { checkStride2Shape } from "../layers/checks.ts";
import { PROGAN_EPSILON } from "../layers/progan_layers.ts";
import { toUnit } from "./shared.ts";
import {
  ProganDiscriminator,
  ProganGenerator,
  realsAtStage,
  STAGES,
  stageSize,
  toFullSize,
} from "./progan_nets.ts";

/** The options of `progan`. */
export const PROGAN_OPTIONS = {
  ...trainingOptions(64, 0.001, "Adam step size of both players (the paper's 0.001)"),
  beta1: { type: "number", default: 0, min: 0, below: 1, doc: "Adam β1 (the paper's 0)" },
  beta2: { type: "number", default: 0.99, min: 0, below: 1, doc: "Adam β2 (the paper's 0.99)" },
  width: { type: "int", default: 64, min: 2, doc: "channels at H/4 and H/2 (H: width/2)" },
  latent: { type: "int", default: 100, min: 1, doc: "size of z ~ N(0, I)" },
  imagesPerStage: {
    type: "int",
    default: 400_000,
    min: 2,
    doc: "training images per resolution stage (the first half fades the new one in)",
  },
  gpWeight: { type: "number", default: 10, min: 0, doc: "WGAN-GP penalty weight λ" },
  drift: { type: "number", default: 0.001, min: 0, doc: "ε_drift on E[D(x)²] of real images" },
} satisfies OptionSchema;

/** Where the growth stands: the stage (0: H/4 … 2: H) and the fade-in weight α of its layers. */
export interface Growth {
  stage: number;
  alpha: number;
}

/**
 * The stage and α for a step taken after `images` training images: stage ⌊images /
 * imagesPerStage⌋ (capped at the last), α rising linearly from 0 to 1 over the first half of
 * every stage after the first.
 */
export function growthAt(images: number, imagesPerStage: number): Growth {
  const stage = Math.min(STAGES - 1, Math.floor(images / imagesPerStage));
  if (stage === 0) return { stage, alpha: 1 };
  const into = images - stage * imagesPerStage;
  return { stage, alpha: Math.min(1, into / (imagesPerStage / 2)) };
}

/** A frozen copy of G at the end of one stage, for the growth view. */
export interface StageGenerator {
  stage: number;
  /** Side length (height) of the stage's images. */
  size: number;
  /** The stage's images [B, D] in [0, 1], upsampled (nearest) to full size. */
  decode(z: tf.Tensor2D): tf.Tensor2D;
}

/** WGAN-GP critic loss parts, batch means. */
export interface CriticLoss {
  loss: tf.Scalar;
  distance: tf.Scalar;
  penalty: tf.Scalar;
}

/**
 * D's WGAN-GP loss: E[D(fake)] − E[D(real)] + λ·E[(‖∇D(x̂)‖₂ − 1)²] + ε_drift·E[D(real)²], with
 * x̂ = fake + u·(real − fake), u [B, 1, 1, 1] uniform. The gradient norm is √(Σ g² + 1e-8),
 * which keeps its own gradient finite at g = 0.
 */
export function criticLoss(
  critic: (x: tf.Tensor4D) => tf.Tensor2D,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  u: tf.Tensor4D,
  gpWeight: number,
  drift: number,
): CriticLoss {
  const realScores = critic(real);
  const fakeScores = critic(fake);
  const distance = tf.sub(tf.mean(realScores), tf.mean(fakeScores)) as tf.Scalar;
  const mixed = tf.add(fake, tf.mul(tf.sub(real, fake), u)) as tf.Tensor4D;
  // Σ D(x̂) written as n·mean: the penalty differentiates this gradient again, and genbench's
  // webgpu gradient of Sum (core/webgpu/sum_grad.ts) has no gradient of its own; Mean's has.
  const n = real.shape[0];
  const slopes = tf.grad((m) => tf.mul(tf.mean(critic(m as tf.Tensor4D)), n))(mixed);
  const norms = tf.sqrt(tf.add(tf.sum(tf.square(slopes), [1, 2, 3]), PROGAN_EPSILON));
  const penalty = tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
  const loss = tf.addN([
    tf.neg(distance),
    tf.mul(penalty, gpWeight),
    tf.mul(tf.mean(tf.square(realScores)), drift),
  ]) as tf.Scalar;
  return { loss, distance, penalty };
}

/** Samples generated per forward pass. */
const SAMPLE_CHUNK = 256;

/** The Progressive GAN. */
export class Progan implements GenerativeModel {
  readonly g: ProganGenerator;
  readonly d: ProganDiscriminator;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #options: OptionValues<typeof PROGAN_OPTIONS>;
  /** Training batch size seen by trainStep (the runner may cap the option on tiny data). */
  #batch = 0;
  /** G's weights at the end of each stage trained in this process (for the growth view). */
  readonly #snapshots = new Map<number, Map<string, tf.Tensor>>();
  /** The stage of this process's previous training step. */
  #lastStage: number | undefined;

  constructor(
    readonly shape: ImageShape,
    options: OptionValues<typeof PROGAN_OPTIONS>,
    init: Stream,
  ) {
    checkStride2Shape("progan", shape);
    this.#options = options;
    this.g = new ProganGenerator(shape, options.latent, options.width, init);
    this.d = new ProganDiscriminator(shape, options.width, init);
    const { learningRate, beta1, beta2 } = options;
    this.#optimizerD = tf.train.adam(learningRate, beta1, beta2, 1e-8);
    this.#optimizerG = tf.train.adam(learningRate, beta1, beta2, 1e-8);
  }

  get latent(): number {
    return this.#options.latent;
  }

  /** Where the growth stands before the next training step (batch size as trained so far). */
  growth(batch = this.#batch || this.#options.batchSize): Growth {
    return growthAt(this.#optimizerD.iterations * batch, this.#options.imagesPerStage);
  }

  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    this.#batch = n;
    const { stage, alpha } = this.growth(n);
    // G as it left the previous stage (a device-side copy; not part of checkpoints).
    if (this.#lastStage !== undefined && stage > this.#lastStage) this.#snapshot(this.#lastStage);
    this.#lastStage = stage;
    const a = stage > 0 && alpha < 1 ? tf.scalar(alpha) : undefined;
    const { height, width, channels } = this.shape;
    const real = tf.tidy(() =>
      realsAtStage(tf.reshape(tf.sub(tf.mul(batch, 2), 1), [n, height, width, channels]), stage, a)
    );
    const z = normalTensor([n, this.latent], noise) as tf.Tensor2D;
    const u = tf.tensor4d(noise.uniformArray(n), [n, 1, 1, 1]);
    const fake = this.g.apply(z, stage, a);
    const critic = (x: tf.Tensor4D) => this.d.apply(x, stage, a);
    const out: Record<string, tf.Scalar> = {};
    const dVars = layerVariables(this.d.layers());
    const dNorm = this.#update(this.#optimizerD, dVars, () => {
      const parts = criticLoss(critic, real, fake, u, this.#options.gpWeight, this.#options.drift);
      out.wgan_distance = tf.keep(parts.distance);
      out.gp = tf.keep(parts.penalty);
      return parts.loss;
    });
    out.wgan_d = dNorm.loss;
    out.d_grad_norm = dNorm.gradNorm;
    // G's own latents, as in Karras et al.'s code (each loss draws its minibatch of z).
    const zG = normalTensor([n, this.latent], noise) as tf.Tensor2D;
    const gNorm = this.#update(
      this.#optimizerG,
      layerVariables(this.g.layers()),
      () => tf.neg(tf.mean(critic(this.g.apply(zG, stage, a)))),
    );
    out.wgan_g = gNorm.loss;
    out.g_grad_norm = gNorm.gradNorm;
    out.stage = tf.scalar(stage);
    out.alpha = tf.scalar(alpha);
    tf.dispose([real, z, u, fake, zG, ...(a ? [a] : [])]);
    return out;
  }

  /**
   * One Adam update of `variables` on `loss`. Every variable is passed to Adam in a fixed order,
   * those the current stage does not use with no gradient (skipped), because tfjs's Adam keeps
   * its moments by position in the gradient list, which must not change between stages.
   */
  #update(optimizer: tf.Optimizer, variables: tf.Variable[], loss: () => tf.Scalar) {
    const { value, grads } = tf.variableGrads(loss, variables);
    const used = Object.values(grads);
    // A chain of adds, not tf.addN: with more than 6 inputs tfjs-webgpu's AddN returned a stale
    // value (the previous AddN's result) on llvmpipe, and the D update went wrong with it.
    const gradNorm = tf.tidy(() =>
      tf.sqrt(used.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)))
    );
    const all: typeof grads = {};
    for (const v of variables) all[v.name] = grads[v.name] ?? (null as unknown as tf.Tensor);
    optimizer.applyGradients(all);
    tf.dispose(used);
    return { loss: value, gradNorm: gradNorm as tf.Scalar };
  }

  #snapshot(stage: number): void {
    const copy = new Map<string, tf.Tensor>();
    for (const [name, variable] of namedWeights(this.g.layers())) {
      copy.set(name, tf.clone(variable));
    }
    this.#snapshots.set(stage, copy);
  }

  /** G at the end of every stage this process trained through, then G as it is now. */
  stageGenerators(): StageGenerator[] {
    const live = this.growth();
    const stages: StageGenerator[] = [...this.#snapshots.keys()].sort((a, b) => a - b).map((
      stage,
    ) => ({
      stage,
      size: stageSize(this.shape, stage)[0],
      decode: (z) => this.#withWeights(this.#snapshots.get(stage)!, () => this.#decode(z, stage)),
    }));
    stages.push({
      stage: live.stage,
      size: stageSize(this.shape, live.stage)[0],
      decode: (z) => this.#decode(z, live.stage, live.alpha),
    });
    return stages;
  }

  /** Run `f` with G's variables temporarily holding `weights`. */
  #withWeights<T>(weights: Map<string, tf.Tensor>, f: () => T): T {
    const current = namedWeights(this.g.layers());
    const saved = new Map([...current].map(([name, v]) => [name, tf.clone(v)]));
    try {
      for (const [name, v] of current) v.assign(weights.get(name)!);
      return f();
    } finally {
      for (const [name, v] of current) v.assign(saved.get(name)!);
      tf.dispose([...saved.values()]);
    }
  }

  /** Images [B, D] in [0, 1] at full size from G at `stage` (blended while α < 1). */
  #decode(z: tf.Tensor2D, stage: number, alpha = 1): tf.Tensor2D {
    return tf.tidy(() => {
      const a = stage > 0 && alpha < 1 ? tf.scalar(alpha) : undefined;
      const images = toFullSize(this.g.apply(z, stage, a), this.shape);
      return toUnit(tf.reshape(images, [z.shape[0], dimOf(this.shape)]) as tf.Tensor2D);
    });
  }

  /** G at the stage and α reached: z ~ N(0, I) → full-size images in [0, 1]. No state. */
  generator(_noise: Stream): LatentDecoder {
    const { stage, alpha } = this.growth();
    return {
      latent: this.latent,
      decode: (z) => this.#decode(z, stage, alpha),
      dispose: () => {},
    };
  }

  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const decoder = this.generator(noise);
    const dim = dimOf(this.shape);
    const out = new Float32Array(n * dim);
    for (let start = 0; start < n; start += SAMPLE_CHUNK) {
      const count = Math.min(SAMPLE_CHUNK, n - start);
      const images = tf.tidy(() =>
        decoder.decode(normalTensor([count, this.latent], noise) as tf.Tensor2D)
      );
      out.set(await images.data(), start * dim);
      images.dispose();
    }
    return out;
  }

  #parts(): Layer[] {
    return [...this.g.layers(), ...this.d.layers()];
  }

  weights(): Map<string, tf.Variable> {
    return namedWeights(this.#parts());
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizerD, this.#optimizerG];
  }

  dispose(): void {
    for (const weight of this.weights().values()) weight.dispose();
    this.#optimizerD.dispose();
    this.#optimizerG.dispose();
    for (const copy of this.#snapshots.values()) tf.dispose([...copy.values()]);
  }
}

/** Whether a model offers per-stage generators (the growth view). */
export function hasStages(model: GenerativeModel): model is Progan {
  return typeof (model as Partial<Progan>).stageGenerators === "function";
}

/** `progan`: the Progressive GAN at MNIST scale. */
export const progan: ModelSpec = {
  name: "progan",
  family: "adversarial",
  description: "Progressive GAN: grows H/4 → H/2 → H with fade-in; pixel norm, minibatch " +
    "stddev, equalized lr; WGAN-GP + drift, Adam(0, 0.99)",
  capabilities: ["sample"],
  input: "grey",
  options: PROGAN_OPTIONS,
  references: [],
  create: ({ shape, options, init }) =>
    new Progan(shape, readOptions("progan", PROGAN_OPTIONS, options), init),
};
