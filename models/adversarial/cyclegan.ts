/**
 * CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
 * Cycle-Consistent Adversarial Networks") between two domains of datasets/domains.ts, at MNIST
 * scale: two generators G: A → B and F: B → A, two patch discriminators D_A and D_B
 * (translation_nets.ts), trained on unpaired images with the paper's least-squares adversarial
 * loss, the L1 cycle loss λ_cyc (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) and the optional identity
 * loss λ_id (‖G(b) − b‖₁ + ‖F(a) − a‖₁).
 *
 * It trains on {@link cyclegan}'s `trainingSplit`: the two disjoint halves of `unpairedSplit`
 * put through A and B, concatenated, labelled 0 (A) and 1 (B). A random batch holds the two
 * domains in varying numbers, so a step applies G and F to every row and averages each loss term
 * over the rows it belongs to with weights mask / max(count, 1): the step's shape never depends on
 * the batch's mix and nothing is read back from the device. On a batch of n rows of A then n of
 * B every term equals the paper's batch mean.
 *
 * The paper reports no numbers on MNIST domains: `references` is empty.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "../../core/errors.ts";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape, Split } from "../../datasets/dataset.ts";
import {
  DOMAIN_NAMES,
  DOMAINS,
  getDomain,
  type Translator,
  unpairedSplit,
} from "../../datasets/domains.ts";
import type { GenerativeModel, ModelSpec } from "../model.ts";
import {
  type ModelOptions,
  type OptionSchema,
  type OptionValues,
  readOptions,
  trainingOptions,
} from "../options.ts";
import { checkSingleChannel, checkStride2Shape, checkWidth } from "../layers/checks.ts";
import { type Layer, layerVariables } from "../layers/nn.ts";
import { Trainable } from "../trainable.ts";
import { playerStep } from "./shared.ts";
import {
  asImages,
  domainWeights,
  EncoderDecoder,
  PatchDiscriminator,
  rowL1,
  rowLeastSquares,
  translateInChunks,
  weighted,
} from "./translation_nets.ts";

/** The seed of the unpaired split: part of the data protocol, the same for every run seed. */
export const UNPAIRED_SPLIT_SEED = 1;

/** The options of `cyclegan`: the paper's λ_cyc = 10, λ_id = 0.5 λ_cyc and Adam settings. */
export const CYCLEGAN_OPTIONS = {
  ...trainingOptions(64, 2e-4, "Adam step size of both players"),
  beta1: { type: "number", default: 0.5, min: 0, below: 1, doc: "Adam β1 of both players" },
  width: {
    type: "int",
    default: 16,
    min: 1,
    doc: "channels of the first conv of every network (the second has twice as many)",
  },
  blocks: {
    type: "int",
    default: 0,
    min: 0,
    doc: "residual 3×3 blocks at the generators' H/4 bottleneck",
  },
  domainA: {
    type: "string",
    default: "original",
    choices: DOMAIN_NAMES,
    doc: "domain A (datasets/domains.ts)",
  },
  domainB: { type: "string", default: "thick", choices: DOMAIN_NAMES, doc: "domain B" },
  cycleWeight: { type: "number", default: 10, min: 0, doc: "λ_cyc of the L1 cycle loss" },
  identityWeight: { type: "number", default: 5, min: 0, doc: "λ_id of the L1 identity loss" },
} satisfies OptionSchema;

/** The resolved options of one CycleGAN. */
export type CycleGanOptions = OptionValues<typeof CYCLEGAN_OPTIONS>;

/** The generators' loss and its parts (scalars). */
export interface GeneratorLoss {
  total: tf.Scalar;
  adversarial: tf.Scalar;
  cycle: tf.Scalar;
  identity: tf.Scalar;
}

/** The DOMAINS indices of A and B, refused when they name the same domain. */
function domainPair(options: CycleGanOptions): [number, number] {
  const a = getDomain(options.domainA, "cyclegan: option domainA").index;
  const b = getDomain(options.domainB, "cyclegan: option domainB").index;
  if (a === b) {
    throw new UsageError(`cyclegan: domainA and domainB are both "${options.domainA}"`);
  }
  return [a, b];
}

/** A CycleGAN between domain A and domain B. */
export class CycleGan extends Trainable implements GenerativeModel {
  readonly g: EncoderDecoder;
  readonly f: EncoderDecoder;
  readonly dA: PatchDiscriminator;
  readonly dB: PatchDiscriminator;
  readonly domainA: number;
  readonly domainB: number;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #optimizerD: tf.AdamOptimizer;

  constructor(readonly shape: ImageShape, readonly options: CycleGanOptions, init: Stream) {
    super();
    checkSingleChannel("cyclegan", shape);
    checkStride2Shape("cyclegan", shape);
    [this.domainA, this.domainB] = domainPair(options);
    const { width, blocks } = options;
    this.g = new EncoderDecoder("G", 1, width, blocks, init);
    this.f = new EncoderDecoder("F", 1, width, blocks, init);
    this.dA = new PatchDiscriminator("D_A", width, shape, init);
    this.dB = new PatchDiscriminator("D_B", width, shape, init);
    this.#optimizerG = this.adam(options.learningRate, options.beta1);
    this.#optimizerD = this.adam(options.learningRate, options.beta1);
  }

  protected parts(): Layer[] {
    return [this.g, this.f, this.dA, this.dB];
  }

  generatorVariables(): tf.Variable[] {
    return layerVariables([this.g, this.f]);
  }

  discriminatorVariables(): tf.Variable[] {
    return layerVariables([this.dA, this.dB]);
  }

  /**
   * The generators' loss on images x [B, H, W, 1] whose A rows carry weights `toA` and B rows
   * `toB` (domainWeights). G and F see every row: G(x) is the translation of an A row and the
   * identity term of a B row, F(x) the other way round.
   */
  generatorLoss(x: tf.Tensor4D, toA: tf.Tensor1D, toB: tf.Tensor1D): GeneratorLoss {
    const fakeB = this.g.apply(x);
    const fakeA = this.f.apply(x);
    const adversarial = tf.add(
      weighted(rowLeastSquares(this.dB.apply(fakeB).scores, 1), toA),
      weighted(rowLeastSquares(this.dA.apply(fakeA).scores, 1), toB),
    );
    const cycle = tf.add(
      weighted(rowL1(this.f.apply(fakeB), x), toA),
      weighted(rowL1(this.g.apply(fakeA), x), toB),
    );
    const identity = tf.add(weighted(rowL1(fakeB, x), toB), weighted(rowL1(fakeA, x), toA));
    const total = tf.addN([
      adversarial,
      tf.mul(cycle, this.options.cycleWeight),
      tf.mul(identity, this.options.identityWeight),
    ]);
    return {
      total: total as tf.Scalar,
      adversarial: adversarial as tf.Scalar,
      cycle: cycle as tf.Scalar,
      identity: identity as tf.Scalar,
    };
  }

  /**
   * The discriminators' loss, ½ [(D(real) − 1)² + D(fake)²] each, on the same rows: D_A judges
   * the A rows as real and F's translations of the B rows as fake, D_B the other way round.
   */
  discriminatorLoss(
    x: tf.Tensor4D,
    fakeA: tf.Tensor4D,
    fakeB: tf.Tensor4D,
    toA: tf.Tensor1D,
    toB: tf.Tensor1D,
  ): tf.Scalar {
    const lossA = tf.add(
      weighted(rowLeastSquares(this.dA.apply(x).scores, 1), toA),
      weighted(rowLeastSquares(this.dA.apply(fakeA).scores, 0), toB),
    );
    const lossB = tf.add(
      weighted(rowLeastSquares(this.dB.apply(x).scores, 1), toB),
      weighted(rowLeastSquares(this.dB.apply(fakeB).scores, 0), toA),
    );
    return tf.mul(tf.add(lossA, lossB), 0.5) as tf.Scalar;
  }

  /**
   * One step of each player on a batch [B, D] in [0, 1] with labels 0 (A) / 1 (B): the
   * generators first, then the discriminators against the updated generators' translations.
   */
  trainStep(batch: tf.Tensor2D, _noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar> {
    checkWidth("cyclegan", batch, this.shape.height * this.shape.width);
    if (!labels || labels.shape[0] !== batch.shape[0]) {
      throw new UsageError(
        `cyclegan: trainStep needs one domain label (0: A, 1: B) per row of its batch`,
      );
    }
    const x = asImages(batch, this.shape);
    const toA = domainWeights(labels, 0);
    const toB = domainWeights(labels, 1);
    const parts: Record<string, tf.Scalar> = {};
    const g = playerStep(this.#optimizerG, this.generatorVariables(), () => {
      const loss = this.generatorLoss(x, toA, toB);
      parts.g_adv = tf.keep(loss.adversarial);
      parts.cycle = tf.keep(loss.cycle);
      parts.identity = tf.keep(loss.identity);
      return loss.total;
    });
    const [fakeA, fakeB] = tf.tidy(() => [this.f.apply(x), this.g.apply(x)]);
    const d = playerStep(
      this.#optimizerD,
      this.discriminatorVariables(),
      () => this.discriminatorLoss(x, fakeA, fakeB, toA, toB),
    );
    tf.dispose([x, toA, toB, fakeA, fakeB]);
    return {
      g_loss: g.loss,
      d_loss: d.loss,
      ...parts,
      g_grad_norm: g.gradNorm,
      d_grad_norm: d.gradNorm,
    };
  }

  /** The model as a translator; it knows only its two domains. */
  translation(): { domains: readonly number[]; translate: Translator } {
    const translate: Translator = (images, count, from, to) => {
      const net = from === this.domainA && to === this.domainB
        ? this.g
        : from === this.domainB && to === this.domainA
        ? this.f
        : null;
      if (!net) {
        throw new UsageError(
          `cyclegan: translates between domains ${this.domainA} and ${this.domainB}, ` +
            `not ${from} → ${to}`,
        );
      }
      return translateInChunks(images, count, this.shape, (x) => net.apply(x));
    };
    return { domains: [this.domainA, this.domainB], translate };
  }
}

/**
 * A model's training split for translation: `unpairedSplit` of the dataset's training split
 * into the given domains (disjoint digits), concatenated, labelled by position in `domains`.
 */
export function domainTrainingSplit(train: Split, shape: ImageShape, domains: number[]): Split {
  const parts = unpairedSplit(
    train,
    domains.map((i) => DOMAINS[i]),
    UNPAIRED_SPLIT_SEED,
    shape.height,
    shape.width,
  );
  const count = parts.reduce((sum, p) => sum + p.count, 0);
  const d = shape.height * shape.width;
  const images = new Uint8Array(count * d);
  const labels = new Uint8Array(count);
  let at = 0;
  parts.forEach((part, k) => {
    images.set(part.images.subarray(0, part.count * d), at * d);
    labels.fill(k, at, at + part.count);
    at += part.count;
  });
  return { images, labels, count };
}

/** `cyclegan`: unpaired translation between two domains (default original ↔ thick). */
export const cyclegan: ModelSpec = {
  name: "cyclegan",
  family: "adversarial",
  description: "CycleGAN: generators A→B, B→A (4×4/2 encoder–decoder) and two patch " +
    "discriminators; least-squares GAN + L1 cycle (+ identity) loss between two domains",
  capabilities: ["translate"],
  input: "grey",
  options: CYCLEGAN_OPTIONS,
  references: [],
  trainingSplit(train: Split, shape: ImageShape, options: ModelOptions): Split {
    const values = readOptions("cyclegan", CYCLEGAN_OPTIONS, options);
    return domainTrainingSplit(train, shape, domainPair(values));
  },
  create: ({ shape, options, init }) =>
    new CycleGan(shape, readOptions("cyclegan", CYCLEGAN_OPTIONS, options), init),
};
