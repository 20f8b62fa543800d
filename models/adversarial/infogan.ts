/**
 * `infogan` (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, "InfoGAN: Interpretable
 * Representation Learning by Information Maximizing Generative Adversarial Nets"). The paper
 * reports no likelihood to reproduce; genbench reports `mi_cat` and its sample metrics.
 *
 * genbench's DCGAN (dcgan.ts) whose generator also takes a 10-way
 * categorical code c₁ ~ Cat(1/10) and two continuous codes c₂, c₃ ~ U(−1, 1) beside 62 noise
 * dimensions, and a Q head on D's trunk (dense 128 → BN → LReLU 0.2 → 10 logits + 2 means)
 * that recovers the codes from G's images. Both players also minimise
 * L_I = λ_cat·CE(c₁, Q) + λ_cont·½‖c₂₃ − μ_Q‖² (Q's continuous posterior is a unit-variance
 * Gaussian, as in the paper's MNIST run): −CE is the variational lower bound on the mutual
 * information I(c₁; G(z, c)) up to the constant H(c₁) = ln 10, reported as `mi_cat`.
 * λ_cat = 1 and λ_cont = 0.1 as in common reimplementations (the paper: λ = 1 for discrete codes,
 * smaller for continuous ones): options `infoCategorical`, `infoContinuous`. The other options
 * (`width`, `loss`, `labelSmoothing`, `learningRateD`, `bnReference`) are those of `dcgan`.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GenerativeModel, LatentDecoder, ModelArgs, ModelSpec } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions } from "../options.ts";
import { Dense, type Layer, normalTensor } from "../layers/nn.ts";
import { checkLabels, oneHot } from "../layers/checks.ts";
import { BatchNorm } from "../layers/batch_norm.ts";
import type { Stream } from "../../core/rng.ts";
import { DCGAN_INIT } from "./shared.ts";
import { DCGAN_OPTIONS, DcganBase, type GeneratorInputs } from "./gan.ts";

/** A generator driven by explicit codes, with its batch-norm statistics frozen. */
export interface CodeDecoder {
  /** Noise dimensions z ~ N(0, I). */
  noise: number;
  /** Number of categories of the categorical code. */
  categories: number;
  /** Number of continuous codes (trained on U(−1, 1)). */
  continuous: number;
  /** Images [B, D] in [0, 1] from noise [B, noise], categories [B] and continuous codes [B, c]. */
  decode(z: tf.Tensor2D, categories: tf.Tensor1D, continuous: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** The options of `infogan`: those of `dcgan` (but z) and the codes'. */
export const INFOGAN_OPTIONS = {
  ...DCGAN_OPTIONS,
  noise: { type: "int", default: 62, min: 1, doc: "size of the noise z ~ N(0, I)" },
  categories: { type: "int", default: 10, min: 1, doc: "categories of the categorical code c₁" },
  continuous: { type: "int", default: 2, min: 0, doc: "continuous codes ~ U(−1, 1)" },
  infoCategorical: { type: "number", default: 1, min: 0, doc: "λ of the categorical info term" },
  infoContinuous: { type: "number", default: 0.1, min: 0, doc: "λ of the continuous info term" },
} satisfies OptionSchema;

/** Categorical and continuous codes of a batch. */
interface Codes {
  categories: tf.Tensor1D;
  continuous: tf.Tensor2D;
}

/** InfoGAN on a DCGAN body. */
export class InfoGan extends DcganBase {
  readonly noise: number;
  readonly categories: number;
  readonly continuous: number;
  readonly #qHidden: Dense;
  readonly #qBn: BatchNorm;
  readonly #qOut: Dense;
  readonly #lambdaCat: number;
  readonly #lambdaCont: number;
  /** The codes of the training step in progress (its info terms need them). */
  #stepCodes: Codes | null = null;

  constructor(
    shape: ModelArgs["shape"],
    options: OptionValues<typeof INFOGAN_OPTIONS>,
    init: Stream,
  ) {
    const inputs = options.noise + options.categories + options.continuous;
    super("infogan", shape, options, inputs, init);
    this.noise = options.noise;
    this.categories = options.categories;
    this.continuous = options.continuous;
    this.#lambdaCat = options.infoCategorical;
    this.#lambdaCont = options.infoContinuous;
    this.#qHidden = new Dense("q/dense", this.d.features, 128, init, DCGAN_INIT);
    this.#qBn = new BatchNorm("q/bn", 128, init);
    this.#qOut = new Dense("q/out", 128, this.categories + this.continuous, init, DCGAN_INIT);
  }

  protected override discriminatorLayers(): Layer[] {
    return [...this.d.layers(), this.#qHidden, this.#qBn, this.#qOut];
  }

  #input(z: tf.Tensor2D, categories: tf.Tensor1D, continuous: tf.Tensor2D): tf.Tensor2D {
    return tf.concat([z, oneHot(categories, this.categories), continuous], 1);
  }

  /** Draws codes for n samples: categories with `noise.int`, continuous codes U(−1, 1). */
  #codes(n: number, noise: Stream): Codes {
    const cat = Int32Array.from({ length: n }, () => noise.int(this.categories));
    const cont = noise.uniformArray(n * this.continuous, -1, 1);
    return {
      categories: tf.tensor1d(cat, "int32"),
      continuous: tf.tensor2d(cont, [n, this.continuous]),
    };
  }

  /** The information loss terms from D's trunk features on fakes made with these codes. */
  #info(features: tf.Tensor2D, { categories, continuous }: Codes) {
    const h = tf.leakyRelu(this.#qBn.apply(this.#qHidden.apply(features)).y, 0.2);
    const out = this.#qOut.apply(h);
    const logits = tf.slice(out, [0, 0], [-1, this.categories]);
    const ce = tf.neg(tf.mean(tf.sum(
      tf.mul(tf.logSoftmax(logits), oneHot(categories, this.categories)),
      1,
    ))) as tf.Scalar;
    let cont = tf.scalar(0);
    if (this.continuous > 0) {
      const mean = tf.slice(out, [0, this.categories], [-1, this.continuous]);
      cont = tf.mul(tf.mean(tf.sum(tf.square(tf.sub(continuous, mean)), 1)), 0.5);
    }
    const total = tf.add(tf.mul(ce, this.#lambdaCat), tf.mul(cont, this.#lambdaCont)) as tf.Scalar;
    return { ce, cont, total };
  }

  protected generatorInputs(n: number, noise: Stream): GeneratorInputs {
    const z = normalTensor([n, this.noise], noise) as tf.Tensor2D;
    const codes = this.#codes(n, noise);
    this.#stepCodes = codes;
    const input = tf.tidy(() => this.#input(z, codes.categories, codes.continuous));
    return { input, held: [z, codes.categories, codes.continuous] };
  }

  /** L_I for both players (D's update trains Q with it); G's step logs its parts. */
  protected override extraLoss(
    player: "d" | "g",
    features: tf.Tensor2D,
    logged: Record<string, tf.Scalar>,
  ): tf.Scalar {
    const info = this.#info(features, this.#stepCodes!);
    if (player === "g") {
      logged.info_cat = tf.keep(info.ce);
      logged.info_cont = tf.keep(info.cont);
      logged.mi_cat = tf.keep(tf.sub(Math.log(this.categories), info.ce));
    }
    return info.total;
  }

  /**
   * G driven by explicit codes, its batch-norm statistics frozen from `bnReference` prior draws
   * of `noise` (noise, categories and continuous codes from their priors).
   */
  codeDecoder(noise: Stream): CodeDecoder {
    const count = this.reference;
    const z = normalTensor([count, this.noise], noise) as tf.Tensor2D;
    const codes = this.#codes(count, noise);
    const frozen = this.freeze(() => this.#input(z, codes.categories, codes.continuous));
    tf.dispose([z, codes.categories, codes.continuous]);
    return {
      noise: this.noise,
      categories: this.categories,
      continuous: this.continuous,
      decode: (codesZ, categories, continuous) =>
        tf.tidy(() => frozen.decode(this.#input(codesZ, categories, continuous))),
      dispose: () => frozen.dispose(),
    };
  }

  /**
   * The generator as a map from z ~ N(0, I) of size noise + continuous: the continuous codes
   * are u = erf(ε/√2) = 2Φ(ε) − 1, which is U(−1, 1) exactly when ε ~ N(0, 1), so the prior
   * over the whole latent is N(0, I). `labels` set the categorical code (default: categories in
   * turn); log p(x) = log (1/K) Σ_c p(x | c) needs one AIS run per category.
   */
  generator(noise: Stream): LatentDecoder {
    const inner = this.codeDecoder(noise);
    return {
      latent: this.noise + this.continuous,
      decode: (z, labels) =>
        tf.tidy(() => {
          const n = z.shape[0];
          const categories = labels ??
            tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % this.categories), "int32");
          const noisePart = tf.slice(z, [0, 0], [n, this.noise]) as tf.Tensor2D;
          const eps = tf.slice(z, [0, this.noise], [n, this.continuous]);
          const continuous = tf.erf(tf.mul(eps, Math.SQRT1_2)) as tf.Tensor2D;
          return inner.decode(noisePart, categories, continuous);
        }),
      dispose: () => inner.dispose(),
    };
  }

  /**
   * `n` images in [0, 1] with codes from their priors; `labels`, if given, set the categorical
   * code (InfoGAN learns its own categories, which need not match the dataset's classes).
   */
  async sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array> {
    if (labels) checkLabels("infogan", labels, n, this.categories);
    const decoder = this.codeDecoder(noise);
    return await this.sampleInChunks(n, decoder, (start, count) =>
      tf.tidy(() => {
        const z = normalTensor([count, this.noise], noise) as tf.Tensor2D;
        const codes = this.#codes(count, noise);
        const categories = labels
          ? tf.tensor1d(labels.subarray(start, start + count), "int32")
          : codes.categories;
        return decoder.decode(z, categories, codes.continuous);
      }));
  }
}

/** True for a model that can be driven by explicit InfoGAN codes. */
export function hasCodes(model: GenerativeModel): model is InfoGan {
  return typeof (model as Partial<InfoGan>).codeDecoder === "function";
}

/** `infogan`: DCGAN + 10-way categorical and 2 continuous codes with a Q head. */
export const infogan: ModelSpec = {
  name: "infogan",
  family: "adversarial",
  description: "InfoGAN on the DCGAN body: z=62 + 10-way categorical + 2 continuous codes, " +
    "Q head on D (mutual-information term)",
  capabilities: ["sample"],
  input: "grey",
  options: INFOGAN_OPTIONS,
  references: [],
  create: ({ shape, options, init }) =>
    new InfoGan(shape, readOptions("infogan", INFOGAN_OPTIONS, options), init),
};
