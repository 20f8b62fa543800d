/**
 * `text2image`: GAN-INT-CLS (Reed, Akata, Yan, Logeswaran, Schiele & Lee 2016, "Generative
 * Adversarial Text to Image Synthesis") at MNIST scale, on the MNIST domains of
 * datasets/domains.ts with the captions of datasets/captions.ts ("a thick seven", "an inverted,
 * rotated 3"). No published MNIST number to reproduce; the evaluation scores images made from
 * held-out phrasings with the frozen digit and domain classifiers (benchmarks/evaluations/
 * text2image.ts).
 *
 * - Text encoder φ (models/layers/text.ts): learned word embeddings, masked mean and max pooling,
 *   dense → LReLU. Reed et al. pretrain a char-CNN-RNN with a joint image–text embedding; here φ
 *   is trained jointly, by D's matching-aware loss alone (it is part of D): telling a right
 *   caption from a wrong one for the same image is what makes φ encode digit and domain. G reads
 *   φ's output but does not move φ.
 * - G: [z, LReLU(dense(φ(t)))] (the text compressed as in the paper, 1024 → 128 there) into
 *   genbench's DCGAN generator (models/adversarial/shared.ts).
 * - D (text2image_nets.ts): the DCGAN trunk (conv w 4×4/2 → LReLU → conv 2w 4×4/2 → BN → LReLU)
 *   to an (H/4)×(W/4) grid; the compressed text, replicated over the grid, concatenated
 *   depth-wise, a 1×1 conv (2w) → LReLU, then a dense layer to one logit — the paper's D at
 *   this scale. The convolutions have the DCGAN init N(0, 0.02²); the text layers Glorot's.
 * - GAN-CLS loss (the paper's Algorithm 1): s_r = D(x, h), s_w = D(x, ĥ), s_f = D(G(z, h), h);
 *   L_D = −log s_r − ½(log(1 − s_w) + log(1 − s_f)); L_G = −log s_f (non-saturating). Wrong
 *   captions ĥ come from a different caption class (digit or domain differ).
 * - GAN-INT (`interpolation` λ > 0): G also gets the midpoints ½(φ(t₁) + φ(t₂)) of two training
 *   captions' embeddings and adds λ·(−log D(G(z, t_int), t_int)) to its loss; D never sees them.
 *
 * Training data (`trainingSplit`): every training digit put through one domain — a balanced,
 * seeded assignment, the same in every run — labelled digit·8 + domain. A step draws for each
 * row a training-phrasing caption of its label and a wrong one, on the device, from uniforms
 * drawn from the noise stream: the labels are never read back.
 *
 * `sample(n, noise, labels)`: images for training-phrasing captions of the digits `labels`
 * (default: 0–9 in turn) in the `original` domain (option `sampleDomains`: `all` draws the
 * domain too), so that FID and label accuracy against the MNIST test set compare like with like.
 * `fromCaptions` generates from any token ids (datasets/captions.ts `encodeCaption`). Both sample
 * through G with batch-norm statistics frozen from reference draws, as the DCGANs do.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import { dimOf, type ImageShape, type Split } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS } from "../../datasets/domains.ts";
import type { GenerativeModel, ModelSpec } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions } from "../options.ts";
import { Dense, type Layer, layerVariables, normalTensor } from "../layers/nn.ts";
import type { Moments } from "../layers/batch_norm.ts";
import { checkLabels, checkSingleChannel, checkStride2Shape } from "../layers/checks.ts";
import {
  CAPTION_CLASSES,
  captionClass,
  CaptionTable,
  PoolingTextEncoder,
  vocabularySize,
} from "../layers/text.ts";
import { Trainable } from "../trainable.ts";
import { DCGAN_OPTIONS } from "./gan.ts";
import { matchingAwareLoss, MatchingDiscriminator } from "./text2image_nets.ts";

export { matchingAwareLoss } from "./text2image_nets.ts";
import { DcganGenerator, type GanLoss, generatorLoss, playerStep, toUnit } from "./shared.ts";

/** The options of `text2image`: those of the DCGANs and the text's. */
export const TEXT2IMAGE_OPTIONS = {
  ...DCGAN_OPTIONS,
  latent: { type: "int", default: 100, min: 1, doc: "size of z ~ N(0, I)" },
  embedding: { type: "int", default: 32, min: 1, doc: "size of the learned word embeddings" },
  textSize: { type: "int", default: 64, min: 1, doc: "size of the caption embedding φ(t)" },
  condition: {
    type: "int",
    default: 32,
    min: 1,
    doc: "size of the compressed caption G and D read (the paper: 128)",
  },
  interpolation: {
    type: "number",
    default: 1,
    min: 0,
    doc: "λ of GAN-INT's interpolated-caption term in G's loss (0: GAN-CLS alone)",
  },
  sampleDomains: {
    type: "string",
    default: "original",
    choices: ["original", "all"],
    doc: "domains of `sample`'s captions: the MNIST look, or drawn uniformly",
  },
} satisfies OptionSchema;

type Text2ImageOptions = OptionValues<typeof TEXT2IMAGE_OPTIONS>;

/** The seed of the training split's domain assignment: fixed, so every run trains on one split. */
export const DOMAIN_ASSIGNMENT_SEED = 21;

/** What one training step is made of (drawn in {@link Text2Image.trainStep}; fixed in tests). */
export interface ClsInputs {
  /** Real images in [−1, 1], [B, D]. */
  real: tf.Tensor2D;
  z: tf.Tensor2D;
  /** Token ids [B, L] (int32) of a caption of each image, and of a caption of another class. */
  right: tf.Tensor2D;
  wrong: tf.Tensor2D;
}

/** Samples generated per forward pass (bounds memory for large n). */
const SAMPLE_CHUNK = 256;

/** GAN-INT-CLS with a pooling text encoder. */
export class Text2Image extends Trainable implements GenerativeModel {
  readonly encoder: PoolingTextEncoder;
  /** G's compression of the caption embedding. */
  readonly compress: Dense;
  readonly g: DcganGenerator;
  readonly d: MatchingDiscriminator;
  readonly captions: CaptionTable;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;

  constructor(readonly shape: ImageShape, readonly options: Text2ImageOptions, init: Stream) {
    checkStride2Shape("text2image", shape);
    checkSingleChannel("text2image", shape);
    super();
    const { embedding, textSize, condition, width, latent } = options;
    this.encoder = new PoolingTextEncoder("d/words", vocabularySize(), embedding, textSize, init);
    this.compress = new Dense("g/text", textSize, condition, init);
    this.g = new DcganGenerator(shape, latent + condition, width, init);
    this.d = new MatchingDiscriminator(shape, width, textSize, condition, init);
    this.captions = new CaptionTable("train");
    const lrD = options.learningRateD ? options.learningRateD : options.learningRate;
    this.#optimizerD = this.adam(lrD, options.beta1);
    this.#optimizerG = this.adam(options.learningRate, options.beta1);
  }

  /** G's inputs: z beside the compressed caption embedding. */
  #generatorInput(z: tf.Tensor2D, text: tf.Tensor2D): tf.Tensor2D {
    return tf.concat([z, tf.leakyRelu(this.compress.apply(text), 0.2)], 1) as tf.Tensor2D;
  }

  /** G's images in [−1, 1] for z and caption embeddings (the batch's own BN statistics). */
  generate(z: tf.Tensor2D, text: tf.Tensor2D): tf.Tensor2D {
    return this.g.apply(this.#generatorInput(z, text)).images;
  }

  /** D's GAN-CLS loss and its three logits; `fake` = G(z, φ(right)) made off D's tape. */
  discriminatorTerms(inputs: ClsInputs, fake: tf.Tensor2D) {
    const text = this.encoder.encode(inputs.right);
    const wrongText = this.encoder.encode(inputs.wrong);
    const realGrid = this.d.trunk(inputs.real);
    const realRight = this.d.judge(realGrid, text);
    const realWrong = this.d.judge(realGrid, wrongText);
    const fakeRight = this.d.judge(this.d.trunk(fake), text);
    const realTarget = 1 - this.options.labelSmoothing;
    const loss = matchingAwareLoss(realRight, realWrong, fakeRight, realTarget);
    return { loss, realRight, realWrong, fakeRight };
  }

  /** G's loss: −log D(G(z, φ(t)), φ(t)), plus λ times the same at interpolated captions. */
  generatorLoss(inputs: ClsInputs): tf.Scalar {
    const loss = this.options.loss as GanLoss;
    const text = this.encoder.encode(inputs.right);
    const judged = (t: tf.Tensor2D) =>
      generatorLoss(this.d.judge(this.d.trunk(this.generate(inputs.z, t)), t), loss);
    const main = judged(text);
    const lambda = this.options.interpolation;
    if (lambda === 0) return main;
    // Midpoints between each caption and the next row's (GAN-INT, β = ½).
    const batch = text.shape[0];
    const next = tf.concat([
      tf.slice(text, [1, 0], [batch - 1, -1]),
      tf.slice(text, [0, 0], [1, -1]),
    ]);
    const between = tf.mul(tf.add(text, next), 0.5) as tf.Tensor2D;
    return tf.add(main, tf.mul(judged(between), lambda)) as tf.Scalar;
  }

  protected generatorLayers(): Layer[] {
    return [this.compress, ...this.g.layers()];
  }

  protected discriminatorLayers(): Layer[] {
    return [this.encoder, ...this.d.layers()];
  }

  protected parts(): Layer[] {
    return [...this.generatorLayers(), ...this.discriminatorLayers()];
  }

  /**
   * One GAN-CLS step on images [B, D] in [0, 1] with their caption classes `labels` [B]
   * (digit·8 + domain, from `trainingSplit`): captions, wrong classes and z are drawn from
   * `noise` and uploaded; nothing is read back.
   */
  trainStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    if (!labels || labels.shape[0] !== n) {
      throw new UsageError(
        `text2image: expected ${n} caption classes with the batch (its trainingSplit gives them)`,
      );
    }
    const z = normalTensor([n, this.options.latent], noise) as tf.Tensor2D;
    const rightU = tf.tensor1d(noise.uniformArray(n));
    // A wrong class: the label shifted by 1..classes−1, modulo the classes. The draws go up
    // as they come (int32): a step replay on webgpu rewrites draws, not values made of them.
    const draws = tf.tensor1d(
      Int32Array.from({ length: n }, () => noise.int(CAPTION_CLASSES - 1)),
      "int32",
    );
    const wrongU = tf.tensor1d(noise.uniformArray(n));
    const inputs: ClsInputs = tf.tidy(() => {
      const label = tf.cast(labels, "int32") as tf.Tensor1D;
      const shifted = tf.add(label, tf.add(draws, tf.scalar(1, "int32")));
      const wrongLabel = tf.mod(shifted, tf.scalar(CAPTION_CLASSES, "int32")) as tf.Tensor1D;
      return {
        real: tf.sub(tf.mul(batch, 2), 1) as tf.Tensor2D,
        z: tf.keep(z),
        right: this.captions.draw(label, rightU),
        wrong: this.captions.draw(wrongLabel, wrongU),
      };
    });
    const fake = tf.tidy(() => this.generate(inputs.z, this.encoder.encode(inputs.right)));
    const out: Record<string, tf.Scalar> = {};
    try {
      const d = playerStep(this.#optimizerD, layerVariables(this.discriminatorLayers()), () => {
        const terms = this.discriminatorTerms(inputs, fake);
        out.d_real = tf.keep(tf.mean(tf.sigmoid(terms.realRight)));
        out.d_wrong = tf.keep(tf.mean(tf.sigmoid(terms.realWrong)));
        out.d_fake = tf.keep(tf.mean(tf.sigmoid(terms.fakeRight)));
        return terms.loss;
      });
      const g = playerStep(
        this.#optimizerG,
        layerVariables(this.generatorLayers()),
        () => this.generatorLoss(inputs),
      );
      return {
        d_loss: d.loss,
        g_loss: g.loss,
        ...out,
        d_grad_norm: d.gradNorm,
        g_grad_norm: g.gradNorm,
      };
    } finally {
      tf.dispose([z, rightU, draws, wrongU, fake, inputs.real, inputs.right, inputs.wrong]);
    }
  }

  /**
   * Images [count × D] in [0, 1] for token ids [count × L]: through G with batch-norm statistics
   * frozen from `bnReference` draws (training captions of uniform classes, z ~ N(0, I)) taken
   * from `noise` first, so that an image never depends on the others of its batch.
   */
  async fromCaptions(tokens: Int32Array, count: number, noise: Stream): Promise<Float32Array> {
    if (!(count >= 1) || tokens.length % count !== 0 || tokens.length === 0) {
      throw new UsageError(
        `text2image: ${tokens.length} token ids are not ${count} captions of equal length`,
      );
    }
    const length = tokens.length / count;
    const stats = this.#frozenStatistics(noise);
    const dim = dimOf(this.shape);
    const out = new Float32Array(count * dim);
    try {
      for (let start = 0; start < count; start += SAMPLE_CHUNK) {
        const size = Math.min(SAMPLE_CHUNK, count - start);
        const images = tf.tidy(() => {
          const ids = tf.tensor2d(
            tokens.subarray(start * length, (start + size) * length),
            [size, length],
            "int32",
          );
          const z = normalTensor([size, this.options.latent], noise) as tf.Tensor2D;
          const input = this.#generatorInput(z, this.encoder.encode(ids));
          return toUnit(this.g.apply(input, stats).images);
        });
        out.set(await images.data(), start * dim);
        images.dispose();
      }
    } finally {
      tf.dispose(stats.flatMap((s) => [s.mean, s.variance]));
    }
    return out;
  }

  #frozenStatistics(noise: Stream): Moments[] {
    const count = this.options.bnReference;
    const classes = Int32Array.from({ length: count }, () => noise.int(CAPTION_CLASSES));
    const z = normalTensor([count, this.options.latent], noise) as tf.Tensor2D;
    const tokens = this.captions.drawFor(classes, noise);
    try {
      return tf.tidy(() => {
        const input = this.#generatorInput(z, this.encoder.encode(tokens));
        return this.g.apply(input).stats.map((s) => ({
          mean: tf.keep(s.mean),
          variance: tf.keep(s.variance),
        }));
      });
    } finally {
      tf.dispose([z, tokens]);
    }
  }

  /**
   * `n` images in [0, 1] for training-phrasing captions of the digits `labels` (default 0–9 in
   * turn) in the original domain, or in drawn domains with `sampleDomains` = `all`.
   */
  async sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array> {
    if (labels) checkLabels("text2image", labels, n, 10);
    const all = this.options.sampleDomains === "all";
    const classes = Int32Array.from(
      { length: n },
      (_, i) => captionClass(labels ? labels[i] : i % 10, all ? noise.int(DOMAINS.length) : 0),
    );
    const drawn = this.captions.drawFor(classes, noise);
    const tokens = (await drawn.data()) as Int32Array;
    drawn.dispose();
    return await this.fromCaptions(tokens, n, noise);
  }

  override dispose(): void {
    super.dispose();
    this.captions.dispose();
  }
}

/**
 * The training split of `text2image`: every image put through one domain (a balanced
 * assignment from a fixed seed: the k-th of a seeded permutation gets domain k mod 8), labelled
 * with its caption class digit·8 + domain.
 */
export function captionedTrainingSplit(train: Split, shape: ImageShape): Split {
  checkSingleChannel("text2image", shape);
  const { height, width } = shape;
  const d = height * width;
  const bad = train.labels.find((label) => label > 9);
  if (bad !== undefined) {
    throw new UsageError(`text2image: label ${bad} is not a digit 0-9 (captions name digits)`);
  }
  const order = Stream.derive(DOMAIN_ASSIGNMENT_SEED, "text2image/domains").permutation(
    train.count,
  );
  const images = new Uint8Array(train.count * d);
  const labels = new Uint8Array(train.count);
  for (let i = 0; i < train.count; i++) {
    const domain = order[i] % DOMAINS.length;
    const image = train.images.subarray(i * d, (i + 1) * d);
    images.set(applyDomain(DOMAINS[domain], image, height, width), i * d);
    labels[i] = captionClass(train.labels[i], domain);
  }
  return { images, labels, count: train.count };
}

/** `text2image`: GAN-INT-CLS on captioned MNIST domains. */
export const text2image: ModelSpec = {
  name: "text2image",
  family: "adversarial",
  description: "GAN-INT-CLS: pooled word embeddings, DCGAN G on [z, text], " +
    "matching-aware D (real/right, real/wrong, fake/right), interpolated captions",
  capabilities: ["sample", "conditional", "caption"],
  input: "grey",
  options: TEXT2IMAGE_OPTIONS,
  references: [],
  trainingSplit: (train, shape) => captionedTrainingSplit(train, shape),
  create: ({ shape, options, init }) =>
    new Text2Image(shape, readOptions("text2image", TEXT2IMAGE_OPTIONS, options), init),
};
