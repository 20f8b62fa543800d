/**
 * `infogan` (Chen et al. 2016): the DCGAN of DESIGN.md whose generator also takes a 10-way
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
import { Dense, layerVariables, normalTensor } from "../layers/nn.ts";
import { checkLabels, checkStride2Shape, oneHot } from "../layers/checks.ts";
import { BatchNorm, type Moments } from "../layers/batch_norm.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { Stream } from "../../core/rng.ts";
import {
  DCGAN_INIT,
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

const SAMPLE_CHUNK = 256;

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

/** InfoGAN on a DCGAN body. */
export class InfoGan implements GenerativeModel {
  readonly noise: number;
  readonly categories: number;
  readonly continuous: number;
  readonly #shape: ImageShape;
  readonly #g: DcganGenerator;
  readonly #d: DcganDiscriminator;
  readonly #qHidden: Dense;
  readonly #qBn: BatchNorm;
  readonly #qOut: Dense;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #loss: GanLoss;
  readonly #reference: number;
  readonly #realTarget: number;
  readonly #lambdaCat: number;
  readonly #lambdaCont: number;

  constructor({ shape, options, init }: ModelArgs) {
    const name = "infogan";
    checkStride2Shape(name, shape);
    this.#shape = shape;
    this.#loss = ganLossOption(name, options);
    this.#realTarget = realTargetOption(name, options);
    this.noise = positiveInt(name, options, "noise");
    this.categories = positiveInt(name, options, "categories");
    this.continuous = Number(options.continuous);
    if (!Number.isInteger(this.continuous) || this.continuous < 0) {
      positiveInt(name, options, "continuous"); // throws the one-line message
    }
    this.#reference = positiveInt(name, options, "bnReference");
    this.#lambdaCat = Number(options.infoCategorical);
    this.#lambdaCont = Number(options.infoContinuous);
    const width = positiveInt(name, options, "width");
    const inputs = this.noise + this.categories + this.continuous;
    this.#g = new DcganGenerator(shape, inputs, width, init);
    this.#d = new DcganDiscriminator(shape, width, init);
    this.#qHidden = new Dense("q/dense", this.#d.features, 128, init, DCGAN_INIT);
    this.#qBn = new BatchNorm("q/bn", 128, init);
    this.#qOut = new Dense("q/out", 128, this.categories + this.continuous, init, DCGAN_INIT);
    const lr = positiveNumber(name, options, "learningRate");
    const beta1 = Number(options.beta1);
    // D's rate defaults to G's; a slower D helps short runs where D otherwise wins at once.
    const lrD = options.learningRateD === undefined
      ? lr
      : positiveNumber(name, options, "learningRateD");
    this.#optimizerD = tf.train.adam(lrD, beta1);
    this.#optimizerG = tf.train.adam(lr, beta1);
  }

  #input(z: tf.Tensor2D, categories: tf.Tensor1D, continuous: tf.Tensor2D): tf.Tensor2D {
    return tf.concat([z, oneHot(categories, this.categories), continuous], 1);
  }

  /** Draws codes for n samples: categories with `noise.int`, continuous codes U(−1, 1). */
  #codes(n: number, noise: Stream): { categories: tf.Tensor1D; continuous: tf.Tensor2D } {
    const cat = Int32Array.from({ length: n }, () => noise.int(this.categories));
    const cont = Float32Array.from({ length: n * this.continuous }, () => 2 * noise.uniform() - 1);
    return {
      categories: tf.tensor1d(cat, "int32"),
      continuous: tf.tensor2d(cont, [n, this.continuous]),
    };
  }

  /** The information loss terms from D's trunk features on fakes made with these codes. */
  #info(features: tf.Tensor2D, categories: tf.Tensor1D, continuous: tf.Tensor2D) {
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

  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    const z = normalTensor([n, this.noise], noise) as tf.Tensor2D;
    const { categories, continuous } = this.#codes(n, noise);
    const input = tf.tidy(() => this.#input(z, categories, continuous));
    const real = tf.tidy(() => tf.sub(tf.mul(batch, 2), 1)) as tf.Tensor2D;
    const fake = tf.tidy(() => this.#g.apply(input).images);
    const out: Record<string, tf.Scalar> = {};
    // D and Q: the GAN loss plus L_I on the fakes.
    const dVars = layerVariables([...this.#d.layers(), this.#qHidden, this.#qBn, this.#qOut]);
    const d = playerStep(this.#optimizerD, dVars, () => {
      const realLogits = this.#d.apply(real).logits;
      const f = this.#d.apply(fake);
      const adversarial = discriminatorLoss(realLogits, f.logits, this.#realTarget);
      const info = this.#info(f.features, categories, continuous);
      out.d_loss = tf.keep(adversarial);
      out.d_real = tf.keep(tf.mean(tf.sigmoid(realLogits)));
      out.d_fake = tf.keep(tf.mean(tf.sigmoid(f.logits)));
      return tf.add(adversarial, info.total) as tf.Scalar;
    });
    // G: its GAN loss plus L_I through the updated D trunk and Q.
    const g = playerStep(this.#optimizerG, layerVariables(this.#g.layers()), () => {
      const f = this.#d.apply(this.#g.apply(input).images);
      const adversarial = generatorLoss(f.logits, this.#loss);
      const info = this.#info(f.features, categories, continuous);
      out.g_loss = tf.keep(adversarial);
      out.info_cat = tf.keep(info.ce);
      out.info_cont = tf.keep(info.cont);
      out.mi_cat = tf.keep(tf.sub(Math.log(this.categories), info.ce));
      return tf.add(adversarial, info.total) as tf.Scalar;
    });
    tf.dispose([z, categories, continuous, input, real, fake, d.loss, g.loss]);
    return {
      d_loss: out.d_loss,
      g_loss: out.g_loss,
      d_real: out.d_real,
      d_fake: out.d_fake,
      d_grad_norm: d.gradNorm,
      g_grad_norm: g.gradNorm,
      info_cat: out.info_cat,
      info_cont: out.info_cont,
      mi_cat: out.mi_cat,
    };
  }

  /**
   * G driven by explicit codes, its batch-norm statistics frozen from `bnReference` prior draws
   * of `noise` (noise, categories and continuous codes from their priors).
   */
  codeDecoder(noise: Stream): CodeDecoder {
    const count = this.#reference;
    const z = normalTensor([count, this.noise], noise) as tf.Tensor2D;
    const codes = this.#codes(count, noise);
    const stats: Moments[] = tf.tidy(() => {
      const { stats } = this.#g.apply(this.#input(z, codes.categories, codes.continuous));
      return stats.map((s) => ({ mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
    });
    tf.dispose([z, codes.categories, codes.continuous]);
    return {
      noise: this.noise,
      categories: this.categories,
      continuous: this.continuous,
      decode: (codesZ, categories, continuous) =>
        tf.tidy(() =>
          toUnit(this.#g.apply(this.#input(codesZ, categories, continuous), stats).images)
        ),
      dispose: () => tf.dispose(stats.flatMap((s) => [s.mean, s.variance])),
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
    const dim = dimOf(this.#shape);
    const out = new Float32Array(n * dim);
    try {
      for (let start = 0; start < n; start += SAMPLE_CHUNK) {
        const count = Math.min(SAMPLE_CHUNK, n - start);
        const z = normalTensor([count, this.noise], noise) as tf.Tensor2D;
        const codes = this.#codes(count, noise);
        if (labels) {
          codes.categories.dispose();
          codes.categories = tf.tensor1d(labels.subarray(start, start + count), "int32");
        }
        const images = decoder.decode(z, codes.categories, codes.continuous);
        out.set(await images.data(), start * dim);
        tf.dispose([z, images, codes.categories, codes.continuous]);
      }
    } finally {
      decoder.dispose();
    }
    return out;
  }

  weights(): Map<string, tf.Variable> {
    const layers = [...this.#g.layers(), ...this.#d.layers(), this.#qHidden, this.#qBn, this.#qOut];
    return new Map(layers.flatMap((l) => l.variables()));
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
  defaults: {
    batchSize: 128,
    learningRate: 0.0002,
    beta1: 0.5,
    noise: 62,
    categories: 10,
    continuous: 2,
    width: 64,
    infoCategorical: 1,
    infoContinuous: 0.1,
    loss: "non-saturating",
    labelSmoothing: 0,
    bnReference: 256,
  },
  create: (args) => new InfoGan(args),
};
