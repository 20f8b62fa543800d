/**
 * `gan-mlp`: the fully connected GAN of Goodfellow et al. 2014 in its common modern form.
 * G: z=100 → 256 → 512 → D (LeakyReLU 0.2, tanh out); D: D → 512 → 256 → 1 (LeakyReLU 0.2).
 * Trained on grey levels scaled to [−1, 1]. Loss `non-saturating` (G minimises −log D(G(z)),
 * the default) or `minimax` (G minimises log(1 − D(G(z))), which saturates early: its gradient
 * vanishes while D confidently rejects the fakes, visible in `g_grad_norm`). Each step returns
 * D's and G's losses, mean D(x) and D(G(z)) and both players' gradient norms. A sampler with a
 * generator (for interpolations, Parzen and AIS): it has no likelihood of its own.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GenerativeModel, LatentDecoder, ModelArgs, ModelSpec } from "../model.ts";
import { Dense, namedWeights, normalTensor } from "../layers/nn.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { Stream } from "../../core/rng.ts";
import { ganLossOption, playerStep, toUnit } from "./shared.ts";

class GanMlp implements GenerativeModel {
  readonly #latent: number;
  readonly #generator: Dense[];
  readonly #discriminator: Dense[];
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #minimax: boolean;

  constructor({ shape, options, init }: ModelArgs) {
    const dim = dimOf(shape);
    this.#minimax = ganLossOption("gan-mlp", options) === "minimax";
    this.#latent = Number(options.latent);
    this.#generator = [
      new Dense("g/h1", this.#latent, 256, init),
      new Dense("g/h2", 256, 512, init),
      new Dense("g/out", 512, dim, init),
    ];
    this.#discriminator = [
      new Dense("d/h1", dim, 512, init),
      new Dense("d/h2", 512, 256, init),
      new Dense("d/out", 256, 1, init),
    ];
    const lr = Number(options.learningRate);
    const beta1 = Number(options.beta1);
    this.#optimizerG = tf.train.adam(lr, beta1);
    this.#optimizerD = tf.train.adam(lr, beta1);
  }

  /** Images in [−1, 1]. */
  #generate(z: tf.Tensor2D): tf.Tensor2D {
    const [h1, h2, out] = this.#generator;
    return out.apply(h2.apply(h1.apply(z, "leakyRelu"), "leakyRelu"), "tanh");
  }

  /** Logits of "real". */
  #discriminate(x: tf.Tensor2D): tf.Tensor2D {
    const [h1, h2, out] = this.#discriminator;
    return out.apply(h2.apply(h1.apply(x, "leakyRelu"), "leakyRelu"));
  }

  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    const real = tf.tidy(() => tf.sub(tf.mul(batch, 2), 1)) as tf.Tensor2D;
    const zD = normalTensor([n, this.#latent], noise) as tf.Tensor2D;
    const zG = normalTensor([n, this.#latent], noise) as tf.Tensor2D;
    const stats: Record<string, tf.Scalar> = {};
    // Discriminator: −log D(x) − log(1 − D(G(z))); G(z) is made outside the gradient tape.
    // Gradients via tf.variableGrads (playerStep) so that their norms can be logged.
    const fake = tf.tidy(() => this.#generate(zD));
    const d = playerStep(this.#optimizerD, this.#variables(this.#discriminator), () => {
      const dReal = this.#discriminate(real);
      const dFake = this.#discriminate(fake);
      stats.d_real = tf.keep(tf.mean(tf.sigmoid(dReal)));
      stats.d_fake = tf.keep(tf.mean(tf.sigmoid(dFake)));
      return tf.add(tf.mean(tf.softplus(tf.neg(dReal))), tf.mean(tf.softplus(dFake)));
    });
    // Generator: −log D(G(z)) (non-saturating) or log(1 − D(G(z))) (minimax).
    const g = playerStep(this.#optimizerG, this.#variables(this.#generator), () => {
      const dFake = this.#discriminate(this.#generate(zG));
      return this.#minimax
        ? tf.neg(tf.mean(tf.softplus(dFake)))
        : tf.mean(tf.softplus(tf.neg(dFake)));
    });
    real.dispose();
    fake.dispose();
    zD.dispose();
    zG.dispose();
    return {
      d_loss: d.loss,
      g_loss: g.loss,
      d_real: stats.d_real,
      d_fake: stats.d_fake,
      d_grad_norm: d.gradNorm,
      g_grad_norm: g.gradNorm,
    };
  }

  /** G as a map from z ~ N(0, I) to images in [0, 1] (it has no batch statistics to freeze). */
  generator(): LatentDecoder {
    return {
      latent: this.#latent,
      decode: (z) => tf.tidy(() => toUnit(this.#generate(z))),
      dispose: () => {},
    };
  }

  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const z = normalTensor([n, this.#latent], noise) as tf.Tensor2D;
    const images = await tf.tidy(() => toUnit(this.#generate(z))).data();
    z.dispose();
    return images as Float32Array;
  }

  #variables(layers: Dense[]): tf.Variable[] {
    return layers.flatMap((layer) => [layer.kernel, layer.bias]);
  }

  weights(): Map<string, tf.Variable> {
    return namedWeights([...this.#generator, ...this.#discriminator]);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizerD, this.#optimizerG];
  }

  dispose(): void {
    for (const variable of this.#variables([...this.#generator, ...this.#discriminator])) {
      variable.dispose();
    }
    this.#optimizerG.dispose();
    this.#optimizerD.dispose();
  }
}

export const ganMlp: ModelSpec = {
  name: "gan-mlp",
  family: "adversarial",
  description: "MLP GAN: G z=100-256-512-D tanh, D D-512-256-1, LeakyReLU 0.2",
  capabilities: ["sample"],
  input: "grey",
  defaults: {
    batchSize: 128,
    learningRate: 0.0002,
    beta1: 0.5,
    latent: 100,
    loss: "non-saturating",
  },
  create: (args) => new GanMlp(args),
};
