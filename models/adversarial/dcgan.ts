/**
 * `dcgan` (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
 * Convolutional GANs") and `cgan`, its class-conditional form (Mirza & Osindero 2014,
 * "Conditional Generative Adversarial Nets"). No published likelihood to reproduce: the GAN
 * papers' MNIST number is a Parzen estimate (Goodfellow et al. 2014: 225 ± 2 nats, carried by
 * `gan-mlp`); these report genbench's own sample-quality metrics.
 *
 * Canonical architecture: G: z=100 → dense 7·7·128 → BN → ReLU → deconv 64 4×4/2 → BN →
 * ReLU → deconv 1 4×4/2 → tanh; D: conv 64 4×4/2 → LReLU 0.2 → conv 128 4×4/2 → BN → LReLU 0.2
 * → dense 1; Adam 2e-4, β1 = 0.5, DCGAN init N(0, 0.02²). On MNIST `dcgan` has 917,122
 * parameters (G 778,305 + D 138,817; the first BN is per feature over the 6,272 dense outputs,
 * as the PyTorch reference count implies).
 *
 * `cgan` feeds the one-hot label to G beside z and to D as constant input planes (one per class),
 * so D judges image and label together. Both train on grey levels scaled to [−1, 1] and sample
 * in [0, 1] through G with frozen batch-norm statistics (gan.ts). They are samplers with a
 * generator: no likelihood of their own (Parzen and AIS estimate one from outside).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LatentDecoder, ModelArgs, ModelSpec } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions } from "../options.ts";
import { normalTensor } from "../layers/nn.ts";
import { checkLabels, oneHot } from "../layers/checks.ts";
import { UsageError } from "../../core/errors.ts";
import type { Stream } from "../../core/rng.ts";
import { DCGAN_OPTIONS, DcganBase, type GeneratorInputs } from "./gan.ts";

/** The options of `dcgan`. */
export const DCGAN_MODEL_OPTIONS = {
  ...DCGAN_OPTIONS,
  latent: { type: "int", default: 100, min: 1, doc: "size of z ~ N(0, I)" },
} satisfies OptionSchema;

/** The options of `cgan`: those of `dcgan` and the number of classes. */
export const CGAN_OPTIONS = {
  ...DCGAN_MODEL_OPTIONS,
  classes: { type: "int", default: 10, min: 1, doc: "classes of the label it is conditioned on" },
} satisfies OptionSchema;

/** A DCGAN, unconditional (`classes` = 0) or class-conditional. */
export class Dcgan extends DcganBase {
  readonly latent: number;
  readonly classes: number;

  constructor(
    name: string,
    shape: ModelArgs["shape"],
    options: OptionValues<typeof DCGAN_MODEL_OPTIONS>,
    classes: number,
    init: Stream,
  ) {
    super(name, shape, options, options.latent + classes, init, classes);
    this.latent = options.latent;
    this.classes = classes;
  }

  /** G's input: z, with the one-hot label appended for `cgan`. */
  #input(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    if (this.classes === 0) return z;
    return tf.concat([z, oneHot(this.#labels(labels, z.shape[0]), this.classes)], 1);
  }

  /** One constant plane per class for D's input [B, H, W, classes] (`cgan` only). */
  #planes(labels: tf.Tensor1D | undefined, batch: number): tf.Tensor4D | undefined {
    if (this.classes === 0) return undefined;
    const { height, width } = this.shape;
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
        `${this.name}: this model is class-conditional and needs labels (the dataset has none)`,
      );
    }
    if (labels.shape[0] !== batch) {
      throw new UsageError(`${this.name}: expected ${batch} labels, got ${labels.shape[0]}`);
    }
    return labels;
  }

  protected generatorInputs(n: number, noise: Stream, labels?: tf.Tensor1D): GeneratorInputs {
    if (this.classes > 0) this.#labels(labels, n);
    const z = normalTensor([n, this.latent], noise) as tf.Tensor2D;
    const input = tf.tidy(() => this.#input(z, labels));
    const planes = tf.tidy(() => this.#planes(labels, n));
    return { input, planes, held: [z] };
  }

  /**
   * G with its batch-norm statistics frozen from `bnReference` prior draws of `noise` (for
   * `cgan`, classes in turn): a deterministic map from z (and labels) to images in [0, 1].
   */
  generator(noise: Stream): LatentDecoder {
    const count = this.reference;
    const z = normalTensor([count, this.latent], noise) as tf.Tensor2D;
    const labels = this.classes > 0
      ? tf.tensor1d(Int32Array.from({ length: count }, (_, i) => i % this.classes), "int32")
      : undefined;
    const frozen = this.freeze(() => this.#input(z, labels));
    tf.dispose([z, ...(labels ? [labels] : [])]);
    return {
      latent: this.latent,
      decode: (codes, y) => tf.tidy(() => frozen.decode(this.#input(codes, y))),
      dispose: () => frozen.dispose(),
    };
  }

  /** `n` images in [0, 1]; `cgan` takes one label per sample (default: classes in turn). */
  async sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array> {
    if (labels && this.classes > 0) checkLabels(this.name, labels, n, this.classes);
    const all = this.classes > 0
      ? labels ?? Int32Array.from({ length: n }, (_, i) => i % this.classes)
      : undefined;
    const decoder = this.generator(noise);
    return await this.sampleInChunks(n, decoder, (start, count) =>
      tf.tidy(() => {
        const z = normalTensor([count, this.latent], noise) as tf.Tensor2D;
        const y = all ? tf.tensor1d(all.subarray(start, start + count), "int32") : undefined;
        return decoder.decode(z, y);
      }));
  }
}

/** `dcgan`: the canonical DCGAN (917,122 parameters on MNIST at width 64). */
export const dcgan: ModelSpec = {
  name: "dcgan",
  family: "adversarial",
  description: "DCGAN: G z=100 → 7·7·128 → deconv 64 → deconv 1 (BN, ReLU, tanh); " +
    "D conv 64 → conv 128 (BN, LReLU) → 1",
  capabilities: ["sample"],
  input: "grey",
  options: DCGAN_MODEL_OPTIONS,
  references: [],
  create: ({ shape, options, init }) =>
    new Dcgan("dcgan", shape, readOptions("dcgan", DCGAN_MODEL_OPTIONS, options), 0, init),
};

/** `cgan`: the DCGAN conditioned on the class label (one-hot into G, label planes into D). */
export const cgan: ModelSpec = {
  name: "cgan",
  family: "adversarial",
  description: "class-conditional DCGAN: one-hot label appended to z and as D input planes",
  capabilities: ["sample", "conditional"],
  input: "grey",
  options: CGAN_OPTIONS,
  references: [],
  create({ shape, options, init }) {
    const values = readOptions("cgan", CGAN_OPTIONS, options);
    return new Dcgan("cgan", shape, values, values.classes, init);
  },
};
