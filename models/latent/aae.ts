/**
 * `aae`: the adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey 2016,
 * "Adversarial Autoencoders"). The paper's MNIST number is a Parzen estimate of a different
 * (MLP) architecture, so genbench carries no reference for this conv variant.
 *
 * A deterministic encoder z = enc(x) and a Bernoulli decoder (the `vae-conv` network), trained
 * on reconstruction, while a discriminator on z (MLP z-256-256-1, LeakyReLU 0.2) pushes the
 * aggregate posterior q(z) towards the prior N(0, I) in place of the VAE's KL term. Each step has the paper's three
 * phases: reconstruction (encoder + decoder), discriminator (prior codes vs encoded codes),
 * and regularisation (the encoder fools the discriminator; non-saturating loss).
 *
 * There is no likelihood bound: matching q(z) to p(z) adversarially gives no ELBO, so `aae`
 * claims `sample` and `reconstruct` only (samples decode z ~ N(0, I)).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelSpec } from "../model.ts";
import { bernoulliLogLikelihood, Dense, type Layer, normalTensor } from "../layers/nn.ts";
import { type OptionSchema, type OptionValues, readOptions } from "../options.ts";
import { checkConvShape, CONV_OPTIONS, ConvLatentModel } from "./vae_conv.ts";

/** The adversarial autoencoder. */
export class Aae extends ConvLatentModel implements GenerativeModel {
  readonly disc: Dense[];
  readonly #weight: number;
  readonly #ae: tf.Optimizer;
  readonly #d: tf.Optimizer;
  readonly #g: tf.Optimizer;

  constructor(shape: ImageShape, options: OptionValues<typeof AAE_OPTIONS>, init: Stream) {
    super(shape, { latent: options.latent, stochastic: false, classes: 0 }, init);
    this.disc = [
      new Dense("disc/h1", options.latent, options.hidden, init),
      new Dense("disc/h2", options.hidden, options.hidden, init),
      new Dense("disc/out", options.hidden, 1, init),
    ];
    this.#weight = options.adversarialWeight;
    this.#ae = this.adam(options.learningRate);
    // The adversarial phases use β1 = 0.5, the usual setting for GAN-style games.
    this.#d = this.adam(options.learningRate, 0.5);
    this.#g = this.adam(options.learningRate, 0.5);
  }

  protected override parts(): Layer[] {
    return [this.net, ...this.disc];
  }

  /** Discriminator logits [B] for codes z [B, latent]: high means "from the prior". */
  discriminate(z: tf.Tensor2D): tf.Tensor1D {
    const [h1, h2, out] = this.disc;
    const a = h1.apply(z, "leakyRelu");
    const b = h2.apply(a, "leakyRelu");
    return tf.reshape(out.apply(b), [-1]);
  }

  #netVariables(part: "enc/" | "dec/"): tf.Variable[] {
    return this.net.variables().filter(([name]) => name.startsWith(part)).map(([, v]) => v);
  }

  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const encoder = this.#netVariables("enc/");
    const all = [...encoder, ...this.#netVariables("dec/")];
    const discVars = this.disc.flatMap((layer) => [layer.kernel, layer.bias]);
    // 1. Reconstruction: E = −log p(x | dec(enc(x))).
    const recon = this.#ae.minimize(
      () => {
        const logits = this.net.decodeLogits(this.net.encode(batch));
        return tf.neg(tf.mean(bernoulliLogLikelihood(logits, batch))) as tf.Scalar;
      },
      true,
      all,
    )!;
    // 2. Discriminator: prior codes are "real", encoded codes "fake" (−log D − log(1 − D)).
    const prior = normalTensor([batch.shape[0], this.latent], noise) as tf.Tensor2D;
    const codes = tf.tidy(() => this.net.encode(batch));
    const dLoss = this.#d.minimize(
      () => {
        const real = tf.softplus(tf.neg(this.discriminate(prior)));
        const fake = tf.softplus(this.discriminate(codes));
        return tf.mean(tf.add(real, fake)) as tf.Scalar;
      },
      true,
      discVars,
    )!;
    prior.dispose();
    codes.dispose();
    // 3. Regularisation: the encoder makes its codes look like prior draws (−log D(enc(x))).
    const gLoss = this.#g.minimize(
      () => {
        const fool = tf.mean(tf.softplus(tf.neg(this.discriminate(this.net.encode(batch)))));
        return tf.mul(this.#weight, fool) as tf.Scalar;
      },
      true,
      encoder,
    )!;
    return { recon, d_loss: dLoss, g_loss: gLoss };
  }
}

/** The options of `aae`: those of `vae-conv` (z = 8, the paper's MNIST size) and D's. */
export const AAE_OPTIONS = {
  ...CONV_OPTIONS,
  latent: { ...CONV_OPTIONS.latent, default: 8 },
  hidden: { type: "int", default: 256, min: 1, doc: "width of the discriminator's hidden layers" },
  adversarialWeight: {
    type: "number",
    default: 1,
    min: 0,
    doc: "weight of the encoder's adversarial (regularisation) loss",
  },
} satisfies OptionSchema;

/** `aae`: adversarial autoencoder with `vae-conv`'s network, z = 8 (the paper's MNIST size). */
export const aaeSpec: ModelSpec = {
  name: "aae",
  family: "latent-variable",
  description: "adversarial autoencoder: conv AE + discriminator on z matching N(0, I), z=8 " +
    "(Makhzani et al. 2016); no likelihood bound",
  capabilities: ["sample", "reconstruct"],
  input: "binary",
  options: AAE_OPTIONS,
  references: [],
  create({ shape, options, init }) {
    const values = readOptions("aae", AAE_OPTIONS, options);
    checkConvShape("aae", shape, values.latent);
    return new Aae(shape, values, init);
  },
};
