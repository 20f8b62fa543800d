/**
 * StarGAN (Choi, Choi, Kim, Ha, Kim & Choo 2018, "StarGAN: Unified Generative Adversarial
 * Networks for Multi-Domain Image-to-Image Translation") across K domains of
 * datasets/domains.ts: one generator G(x, c) conditioned on the target domain c (one-hot, as
 * K constant input planes), one patch discriminator with an auxiliary domain classifier
 * (translation_nets.ts), trained with
 *
 *   L_D = L_adv^D + λ_cls · CE(D_cls(x), c_x)
 *   L_G = L_adv^G + λ_cls · CE(D_cls(G(x, c)), c) + λ_rec · ‖x − G(G(x, c), c_x)‖₁
 *
 * where c_x is the domain of the real image x and c a target drawn per row, uniformly among
 * the K − 1 other domains (the paper permutes the batch's labels, which sometimes keeps the
 * source domain; a step that translates every row learns more per image).
 *
 * Adversarial loss: least squares (LSGAN, Mao et al. 2017; D's real/fake targets 1 and 0, G's
 * target 1), not the paper's WGAN-GP: the gradient penalty differentiates D's gradient, a
 * second-order pass through transposed convolutions that tfjs does not offer on every backend,
 * and it needs a random interpolation per step; least squares is first-order, as stable on this
 * scale, and the same loss as `cyclegan`, so the two compare on their architecture alone. Every
 * term is a plain mean on the device: no atomics, no host readback, one shape per step.
 *
 * Trains on {@link stargan}'s `trainingSplit`: `unpairedSplit` of the training digits into the
 * K domains (disjoint digits), labelled by position in the `domains` option. The paper reports
 * no numbers on MNIST domains: `references` is empty.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "../../core/errors.ts";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape, Split } from "../../datasets/dataset.ts";
import { DOMAIN_NAMES, getDomain, type Translator } from "../../datasets/domains.ts";
import type { GenerativeModel, ModelSpec } from "../model.ts";
import {
  type ModelOptions,
  type OptionSchema,
  type OptionValues,
  readOptions,
  trainingOptions,
} from "../options.ts";
import { checkSingleChannel, checkStride2Shape, checkWidth, oneHot } from "../layers/checks.ts";
import { type Layer, layerVariables } from "../layers/nn.ts";
import { Trainable } from "../trainable.ts";
import { playerStep } from "./shared.ts";
import { domainTrainingSplit } from "./cyclegan.ts";
import {
  asImages,
  EncoderDecoder,
  PatchDiscriminator,
  rowL1,
  rowLeastSquares,
  translateInChunks,
} from "./translation_nets.ts";

/** The options of `stargan`: the paper's λ_cls = 1, λ_rec = 10, Adam β1 = 0.5. */
export const STARGAN_OPTIONS = {
  ...trainingOptions(64, 2e-4, "Adam step size of both players"),
  beta1: { type: "number", default: 0.5, min: 0, below: 1, doc: "Adam β1 of both players" },
  width: {
    type: "int",
    default: 32,
    min: 1,
    doc: "channels of the first conv of G and D (the second has twice as many)",
  },
  blocks: {
    type: "int",
    default: 2,
    min: 0,
    doc: "residual 3×3 blocks at G's H/4 bottleneck (the paper: 6)",
  },
  domains: {
    type: "string",
    default: "all",
    doc: `comma-separated domains of datasets/domains.ts (≥ 2), or "all"`,
  },
  classWeight: {
    type: "number",
    default: 1,
    min: 0,
    doc: "λ_cls of the domain-classification loss",
  },
  reconstructionWeight: {
    type: "number",
    default: 10,
    min: 0,
    doc: "λ_rec of the L1 reconstruction (cycle) loss",
  },
} satisfies OptionSchema;

/** The resolved options of one StarGAN. */
export type StarGanOptions = OptionValues<typeof STARGAN_OPTIONS>;

/** The DOMAINS indices named by the `domains` option, in its order. */
export function starganDomains(option: string): number[] {
  const names = option === "all" ? [...DOMAIN_NAMES] : option.split(",").map((s) => s.trim());
  const indices = names.map((name) => getDomain(name, "stargan: option domains").index);
  if (indices.length < 2 || new Set(indices).size !== indices.length) {
    throw new UsageError(
      `stargan: option domains: expected at least two distinct domains (got "${option}")`,
    );
  }
  return indices;
}

/** Mean over rows of the softmax cross-entropy of logits [B, K] against one-hot codes [B, K]. */
export function crossEntropy(logits: tf.Tensor2D, codes: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(codes, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** The generator's loss and its parts (scalars). */
export interface StarGeneratorLoss {
  total: tf.Scalar;
  adversarial: tf.Scalar;
  classification: tf.Scalar;
  reconstruction: tf.Scalar;
}

/** A StarGAN across the domains of its options. */
export class StarGan extends Trainable implements GenerativeModel {
  readonly g: EncoderDecoder;
  readonly d: PatchDiscriminator;
  /** DOMAINS indices; code k means domains[k]. */
  readonly domains: readonly number[];
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #optimizerD: tf.AdamOptimizer;

  constructor(readonly shape: ImageShape, readonly options: StarGanOptions, init: Stream) {
    super();
    checkSingleChannel("stargan", shape);
    checkStride2Shape("stargan", shape);
    this.domains = starganDomains(options.domains);
    const k = this.domains.length;
    this.g = new EncoderDecoder("G", 1 + k, options.width, options.blocks, init);
    this.d = new PatchDiscriminator("D", options.width, shape, init, k);
    this.#optimizerD = this.adam(options.learningRate, options.beta1);
    this.#optimizerG = this.adam(options.learningRate, options.beta1);
  }

  protected parts(): Layer[] {
    return [this.g, this.d];
  }

  /** G(x, c): images [B, H, W, 1] translated to the domains of one-hot codes c [B, K]. */
  generate(x: tf.Tensor4D, codes: tf.Tensor2D): tf.Tensor4D {
    const [b, h, w] = x.shape;
    const planes = tf.tile(tf.reshape(codes, [b, 1, 1, codes.shape[1]]), [1, h, w, 1]);
    return this.g.apply(tf.concat([x, planes as tf.Tensor4D], 3));
  }

  /** L_G on images x with source codes `source` and target codes `target` ([B, K] one-hot). */
  generatorLoss(x: tf.Tensor4D, source: tf.Tensor2D, target: tf.Tensor2D): StarGeneratorLoss {
    const fake = this.generate(x, target);
    const judged = this.d.apply(fake);
    const adversarial = tf.mean(rowLeastSquares(judged.scores, 1)) as tf.Scalar;
    const classification = crossEntropy(judged.logits!, target);
    const reconstruction = tf.mean(rowL1(this.generate(fake, source), x)) as tf.Scalar;
    const total = tf.addN([
      adversarial,
      tf.mul(classification, this.options.classWeight),
      tf.mul(reconstruction, this.options.reconstructionWeight),
    ]) as tf.Scalar;
    return { total, adversarial, classification, reconstruction };
  }

  /** L_D: ½ [(D(x) − 1)² + D(fake)²] + λ_cls CE(D_cls(x), source). */
  discriminatorLoss(
    x: tf.Tensor4D,
    fake: tf.Tensor4D,
    source: tf.Tensor2D,
  ): { total: tf.Scalar; classification: tf.Scalar } {
    const real = this.d.apply(x);
    const adversarial = tf.mul(
      tf.add(
        tf.mean(rowLeastSquares(real.scores, 1)),
        tf.mean(rowLeastSquares(this.d.apply(fake).scores, 0)),
      ),
      0.5,
    );
    const classification = crossEntropy(real.logits!, source);
    const total = tf.add(adversarial, tf.mul(classification, this.options.classWeight));
    return { total: total as tf.Scalar, classification };
  }

  /**
   * One step of each player on a batch [B, D] in [0, 1] with labels = domain codes 0..K−1:
   * D first (on the current G's translations), then G, as in the paper (one D step per G step).
   * The targets are drawn from `noise` on the host: (source + 1 + u) mod K, u uniform in 0..K−2.
   */
  trainStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar> {
    checkWidth("stargan", batch, this.shape.height * this.shape.width);
    const b = batch.shape[0];
    if (!labels || labels.shape[0] !== b) {
      throw new UsageError(`stargan: trainStep needs one domain code per row of its batch`);
    }
    const k = this.domains.length;
    // Drawn as they come (a step replay on webgpu rewrites draws, not values made of them).
    const draws = Int32Array.from({ length: b }, () => noise.int(k - 1));
    const [x, source, target] = tf.tidy(() => {
      const codes = tf.cast(labels, "int32");
      const shifts = tf.add(tf.tensor1d(draws, "int32"), tf.scalar(1, "int32"));
      const to = tf.mod(tf.add(codes, shifts), k) as tf.Tensor1D;
      return [asImages(batch, this.shape), oneHot(codes as tf.Tensor1D, k), oneHot(to, k)];
    }) as [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D];
    const parts: Record<string, tf.Scalar> = {};
    const fake = tf.tidy(() => this.generate(x, target));
    const d = playerStep(this.#optimizerD, layerVariables([this.d]), () => {
      const loss = this.discriminatorLoss(x, fake, source);
      parts.d_cls = tf.keep(loss.classification);
      return loss.total;
    });
    const g = playerStep(this.#optimizerG, layerVariables([this.g]), () => {
      const loss = this.generatorLoss(x, source, target);
      parts.g_adv = tf.keep(loss.adversarial);
      parts.g_cls = tf.keep(loss.classification);
      parts.reconstruction = tf.keep(loss.reconstruction);
      return loss.total;
    });
    tf.dispose([x, source, target, fake]);
    return {
      d_loss: d.loss,
      g_loss: g.loss,
      ...parts,
      d_grad_norm: d.gradNorm,
      g_grad_norm: g.gradNorm,
    };
  }

  /** The model as a translator between any two of its domains (G ignores the source). */
  translation(): { domains: readonly number[]; translate: Translator } {
    const translate: Translator = (images, count, from, to) => {
      const code = this.domains.indexOf(to);
      if (!this.domains.includes(from) || code < 0) {
        throw new UsageError(
          `stargan: translates between domains ${this.domains.join(", ")}, not ${from} → ${to}`,
        );
      }
      return translateInChunks(images, count, this.shape, (x) => {
        const codes = tf.oneHot(
          tf.fill([x.shape[0]], code, "int32") as tf.Tensor1D,
          this.domains.length,
        );
        return this.generate(x, tf.cast(codes, "float32") as tf.Tensor2D);
      });
    };
    return { domains: this.domains, translate };
  }
}

/** `stargan`: one generator for every domain, conditioned on the target domain's code. */
export const stargan: ModelSpec = {
  name: "stargan",
  family: "adversarial",
  description: "StarGAN: one encoder–decoder G(x, target code) across K domains, a patch D with " +
    "a domain-classifier head; least-squares GAN + classification + L1 reconstruction loss",
  capabilities: ["translate"],
  input: "grey",
  options: STARGAN_OPTIONS,
  references: [],
  trainingSplit(train: Split, shape: ImageShape, options: ModelOptions): Split {
    const values = readOptions("stargan", STARGAN_OPTIONS, options);
    return domainTrainingSplit(train, shape, starganDomains(values.domains));
  },
  create: ({ shape, options, init }) =>
    new StarGan(shape, readOptions("stargan", STARGAN_OPTIONS, options), init),
};
