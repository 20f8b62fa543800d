/**
 * The convolutional latent-variable models: `vae-conv` (Kingma & Welling 2014, "Auto-Encoding
 * Variational Bayes", with genbench's conv encoder/decoder), `beta-vae` (Higgins et al. 2017,
 * "β-VAE": β on the KL term) and `ae` (the same network made deterministic: reconstruction
 * only, no likelihood). No paper reports a binarized-MNIST number for this network, so they
 * carry no published reference; the IWAE paper's MLP VAE (`vae-mlp`) is the one reproduced.
 *
 * Encoder: conv 32 4×4/2 → conv 64 4×4/2 → dense 2·z (mean, log-variance); decoder: dense
 * 7·7·64 → deconv 32 4×4/2 → deconv C 4×4/2 (Bernoulli logits); ReLU between layers. With
 * z = 32 on 28×28×1 images `vae-conv` has 370,945 parameters.
 * The shared building blocks here are reused by `aae` and `cvae`.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { iwaeFromLogWeights } from "../layers/iwae.ts";
import type { ElboTerms, GenerativeModel, ModelSpec } from "../model.ts";
import { type OptionSchema, readOptions, trainingOptions } from "../options.ts";
import { bernoulliLogLikelihood, Dense, type Layer, normalTensor } from "../layers/nn.ts";
import { Trainable } from "../trainable.ts";
import { DownConv, UpConv } from "../layers/conv.ts";
import { checkStride2Shape, oneHot } from "../layers/checks.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** How a {@link ConvNet} is built. */
export interface ConvNetConfig {
  /** Latent size z. */
  latent: number;
  /** True: the encoder outputs mean and log-variance (2·z values); false: a code z. */
  stochastic: boolean;
  /** Number of classes to condition encoder and decoder on (0: unconditional). */
  classes: number;
}

/** Checks an image shape and a latent size against the conv architecture; one line if not. */
export function checkConvShape(model: string, shape: ImageShape, latent: number): void {
  checkStride2Shape(model, shape);
  const features = (shape.height / 4) * (shape.width / 4) * 64;
  if (latent > features) {
    throw new UsageError(
      `${model}: option latent: expected an integer ≤ ${features} for ` +
        `${shape.height}×${shape.width} images (got ${latent})`,
    );
  }
}

/** The conv encoder/decoder pair, optionally class-conditional. */
export class ConvNet {
  readonly conv1: DownConv;
  readonly conv2: DownConv;
  readonly encOut: Dense;
  readonly decIn: Dense;
  readonly deconv1: UpConv;
  readonly deconv2: UpConv;
  readonly dims: number;

  constructor(readonly shape: ImageShape, readonly config: ConvNetConfig, init: Stream) {
    const { height, width, channels } = shape;
    const { latent, stochastic, classes } = config;
    const features = (height / 4) * (width / 4) * 64;
    this.dims = height * width * channels;
    this.conv1 = new DownConv("enc/conv1", channels, 32, init);
    this.conv2 = new DownConv("enc/conv2", 32, 64, init);
    this.encOut = new Dense("enc/out", features + classes, stochastic ? 2 * latent : latent, init);
    this.decIn = new Dense("dec/in", latent + classes, features, init);
    this.deconv1 = new UpConv("dec/deconv1", 64, 32, init);
    this.deconv2 = new UpConv("dec/deconv2", 32, channels, init);
  }

  /** One-hot labels [B, classes], or null for an unconditional net. */
  #condition(labels: tf.Tensor1D | undefined, batch: number): tf.Tensor2D | null {
    if (this.config.classes === 0) return null;
    if (!labels) throw new UsageError("this model is class-conditional: labels are required");
    if (labels.shape[0] !== batch) {
      throw new Error(`expected ${batch} labels, got ${labels.shape[0]}`);
    }
    return oneHot(labels, this.config.classes);
  }

  /** Encoder output [B, 2·z] (mean then log-variance) or [B, z]. */
  encode(x: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    const [batch] = x.shape;
    const { height, width, channels } = this.shape;
    const image = tf.reshape(x, [batch, height, width, channels]) as tf.Tensor4D;
    const h = tf.relu(this.conv2.apply(tf.relu(this.conv1.apply(image))));
    let flat = tf.reshape(h, [batch, -1]) as tf.Tensor2D;
    const cond = this.#condition(labels, batch);
    if (cond) flat = tf.concat([flat, cond], 1);
    return this.encOut.apply(flat);
  }

  /** Decoder logits [B, D] for codes z [B, z]. */
  decodeLogits(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    const [batch] = z.shape;
    const { height, width, channels } = this.shape;
    const cond = this.#condition(labels, batch);
    const input = cond ? tf.concat([z, cond], 1) : z;
    const h = this.decIn.apply(input, "relu");
    const grid = tf.reshape(h, [batch, height / 4, width / 4, 64]) as tf.Tensor4D;
    const up = tf.relu(this.deconv1.apply(grid));
    return tf.reshape(this.deconv2.apply(up), [batch, height * width * channels]);
  }

  variables(): [string, tf.Variable][] {
    return [this.conv1, this.conv2, this.encOut, this.decIn, this.deconv1, this.deconv2]
      .flatMap((layer) => layer.variables());
  }
}

/** Bernoulli pixels (0/1) drawn from probabilities with a seeded stream. */
export function bernoulliPixels(probs: Float32Array, noise: Stream): Float32Array {
  const out = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = noise.uniform() < probs[i] ? 1 : 0;
  return out;
}

/** Repeat labels [B] `times` times, sample-major: [times·B]. */
function tileLabels(labels: tf.Tensor1D | undefined, times: number): tf.Tensor1D | undefined {
  return labels ? tf.tile(labels, [times]) as tf.Tensor1D : undefined;
}

/**
 * What the conv latent-variable models share: the network (whose variables are the model's,
 * with any extra `parts`), the deterministic encoder, the decoder's mean, sampling from the
 * prior N(0, I) and the bookkeeping.
 */
export abstract class ConvLatentModel extends Trainable {
  readonly net: ConvNet;
  readonly latent: number;

  constructor(shape: ImageShape, config: ConvNetConfig, init: Stream) {
    super();
    this.latent = config.latent;
    this.net = new ConvNet(shape, config, init);
  }

  protected parts(): Layer[] {
    return [this.net];
  }

  /** The code z = enc(x) as `mean` (a deterministic encoder has no variance). */
  encode(x: tf.Tensor2D, labels?: tf.Tensor1D): { mean: tf.Tensor2D; logVar?: tf.Tensor2D } {
    return { mean: tf.tidy(() => this.net.encode(x, labels)) };
  }

  /** Bernoulli means E[x|z] [B, D]. */
  decode(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.net.decodeLogits(z, labels)));
  }

  /** `n` 0/1 images decoded from z ~ N(0, I) (a conditional model cycles through the classes). */
  async sample(n: number, noise: Stream, labels?: Int32Array): Promise<Float32Array> {
    const probs = tf.tidy(() => {
      const z = normalTensor([n, this.latent], noise) as tf.Tensor2D;
      const classes = this.net.config.classes;
      const given = labels ??
        (classes > 0 ? Int32Array.from({ length: n }, (_, i) => i % classes) : null);
      const y = given ? tf.tensor1d(given, "int32") : undefined;
      return this.decode(z, y);
    });
    const values = await probs.data() as Float32Array;
    probs.dispose();
    return bernoulliPixels(values, noise);
  }
}

/** The Gaussian conv VAE: `vae-conv`, `beta-vae` and (with classes) `cvae`. */
export class ConvVae extends ConvLatentModel implements GenerativeModel {
  readonly beta: number;
  readonly #optimizer: tf.Optimizer;

  constructor(shape: ImageShape, options: {
    latent: number;
    beta: number;
    classes: number;
    learningRate: number;
  }, init: Stream) {
    super(shape, { latent: options.latent, stochastic: true, classes: options.classes }, init);
    this.beta = options.beta;
    this.#optimizer = this.adam(options.learningRate);
  }

  /** Posterior q(z|x) = N(mean, diag(exp(logVar))). */
  override encode(
    x: tf.Tensor2D,
    labels?: tf.Tensor1D,
  ): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.net.encode(x, labels);
      const [mean, logVar] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return { mean, logVar };
    });
  }

  /** ELBO terms with one reparameterised sample and the analytic Gaussian KL. */
  #terms(x: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D) {
    const { mean, logVar } = this.encode(x, labels);
    const eps = normalTensor(mean.shape, noise);
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
    const logits = this.net.decodeLogits(z, labels);
    const recon = tf.neg(bernoulliLogLikelihood(logits, x)) as tf.Tensor1D;
    const kl = tf.mul(
      0.5,
      tf.sum(tf.sub(tf.add(tf.square(mean), tf.exp(logVar)), tf.add(logVar, 1)), 1),
    ) as tf.Tensor1D;
    return { recon, kl, logits };
  }

  trainStep(
    batch: tf.Tensor2D,
    noise: Stream,
    labels?: tf.Tensor1D,
  ): Record<string, tf.Scalar> {
    let recon: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    const loss = this.#optimizer.minimize(
      () => {
        const terms = this.#terms(batch, noise, labels);
        recon = tf.keep(tf.mean(terms.recon));
        kl = tf.keep(tf.mean(terms.kl));
        return tf.add(recon, tf.mul(this.beta, kl)) as tf.Scalar;
      },
      true,
      [...this.weights().values()],
    )!;
    return { loss, recon: recon!, kl: kl! };
  }

  elbo(x: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): ElboTerms {
    return tf.tidy(() => {
      const { recon, kl, logits } = this.#terms(x, noise, labels);
      return {
        elbo: tf.neg(tf.add(recon, kl)) as tf.Tensor1D,
        recon,
        kl,
        mean: tf.sigmoid(logits) as tf.Tensor2D,
      };
    });
  }

  /**
   * log p(x, z_s) − log q(z_s|x) for `samples` fresh z_s ~ q(z|x), as [B, samples]. The
   * normals are drawn sample-major ([samples, B, z]), so consecutive calls with one stream
   * draw exactly what one call with the summed sample count would.
   */
  logWeights(
    x: tf.Tensor2D,
    samples: number,
    noise: Stream,
    labels?: tf.Tensor1D,
  ): tf.Tensor2D {
    return tf.tidy(() => {
      const [batch] = x.shape;
      const { mean, logVar } = this.encode(x, labels);
      const eps = normalTensor([samples, batch, this.latent], noise) as tf.Tensor3D;
      const std = tf.exp(tf.mul(logVar, 0.5));
      const z = tf.add(mean, tf.mul(std, eps)); // [S, B, z]
      const flatZ = tf.reshape(z, [samples * batch, this.latent]) as tf.Tensor2D;
      const logits = this.net.decodeLogits(flatZ, tileLabels(labels, samples));
      const xs = tf.tile(x, [samples, 1]) as tf.Tensor2D;
      const logPxz = tf.reshape(bernoulliLogLikelihood(logits, xs), [samples, batch]);
      const halfLog2Pi = 0.5 * this.latent * LOG_2PI;
      const logPz = tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 2)), halfLog2Pi);
      const logQ = tf.sub(
        tf.sub(tf.mul(-0.5, tf.sum(tf.square(eps), 2)), tf.mul(0.5, tf.sum(logVar, 1))),
        halfLog2Pi,
      );
      return tf.transpose(tf.sub(tf.add(logPxz, logPz), logQ)) as tf.Tensor2D;
    });
  }

  /** log (1/k) Σ_s w_s per example, chunked so that memory does not grow with k. */
  iwae(x: tf.Tensor2D, k: number, noise: Stream, labels?: tf.Tensor1D): tf.Tensor1D {
    return iwaeFromLogWeights(x.shape[0], k, (c) => this.logWeights(x, c, noise, labels));
  }
}

/** The deterministic conv autoencoder `ae`: trained on reconstruction BCE only. */
export class ConvAe extends ConvLatentModel implements GenerativeModel {
  readonly #optimizer: tf.Optimizer;

  constructor(shape: ImageShape, options: { latent: number; learningRate: number }, init: Stream) {
    super(shape, { latent: options.latent, stochastic: false, classes: 0 }, init);
    this.#optimizer = this.adam(options.learningRate);
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    const loss = this.#optimizer.minimize(
      () => {
        const logits = this.net.decodeLogits(this.net.encode(batch));
        return tf.neg(tf.mean(bernoulliLogLikelihood(logits, batch))) as tf.Scalar;
      },
      true,
      [...this.weights().values()],
    )!;
    return { recon: loss };
  }

  /** An autoencoder has no prior over codes, so it has no samples to give. */
  override sample(): Promise<Float32Array> {
    return Promise.reject(
      new UsageError("ae: a deterministic autoencoder defines no distribution and cannot sample"),
    );
  }
}

/** The options every conv latent-variable model reads. */
export const CONV_OPTIONS = {
  ...trainingOptions(128, 1e-3),
  latent: { type: "int", default: 32, min: 1, doc: "size of z (at most H/4·W/4·64)" },
} satisfies OptionSchema;

function vaeSpec(name: string, beta: number, description: string): ModelSpec {
  const schema = {
    ...CONV_OPTIONS,
    beta: { type: "number", default: beta, min: 0, doc: "weight of the KL term in training" },
  } satisfies OptionSchema;
  return {
    name,
    family: "latent-variable",
    description,
    capabilities: ["sample", "elbo", "reconstruct"],
    input: "binary",
    options: schema,
    references: [],
    create({ shape, options, init }) {
      const { latent, beta, learningRate } = readOptions(name, schema, options);
      checkConvShape(name, shape, latent);
      return new ConvVae(shape, { latent, beta, classes: 0, learningRate }, init);
    },
  };
}

/** `vae-conv`: the canonical conv VAE (z = 32, 370,945 parameters on MNIST). */
export const vaeConvSpec: ModelSpec = vaeSpec(
  "vae-conv",
  1,
  "convolutional VAE, z=32, Bernoulli decoder (Kingma & Welling 2014)",
);

/** `beta-vae`: `vae-conv` trained with β·KL (β = 4 by default; Higgins et al. 2017). */
export const betaVaeSpec: ModelSpec = vaeSpec(
  "beta-vae",
  4,
  "vae-conv trained with β·KL, β=4 by default (Higgins et al. 2017); ELBO reported at β=1",
);

/** `ae`: `vae-conv` made deterministic; reconstruction only. */
export const aeSpec: ModelSpec = {
  name: "ae",
  family: "latent-variable",
  description: "deterministic conv autoencoder (vae-conv's network), reconstruction only",
  capabilities: ["reconstruct"],
  input: "binary",
  options: CONV_OPTIONS,
  references: [],
  create({ shape, options, init }) {
    const { latent, learningRate } = readOptions("ae", CONV_OPTIONS, options);
    checkConvShape("ae", shape, latent);
    return new ConvAe(shape, { latent, learningRate }, init);
  },
};
