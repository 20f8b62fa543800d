/**
 * `gan-mlp`: the fully connected GAN of Goodfellow et al. 2014 ("Generative Adversarial Nets")
 * in its common modern form; the paper's MNIST number is a Parzen-window estimate, 225 ± 2 nats
 * (`references` below), which genbench's Parzen evaluation reproduces in kind.
 *
 * G: z=100 → 256 → 512 → D (LeakyReLU 0.2, tanh out); D: D → 512 → 256 → 1 (LeakyReLU 0.2).
 * Trained on grey levels scaled to [−1, 1]. Loss `non-saturating` (G minimises −log D(G(z)),
 * the default) or `minimax` (G minimises log(1 − D(G(z))), which saturates early: its gradient
 * vanishes while D confidently rejects the fakes, visible in `g_grad_norm`). Each step returns
 * D's and G's losses, mean D(x) and D(G(z)) and both players' gradient norms (gan.ts). A sampler
 * with a generator (for interpolations, Parzen and AIS): it has no likelihood of its own.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LatentDecoder, ModelArgs, ModelSpec } from "../model.ts";
import { type OptionSchema, readOptions } from "../options.ts";
import { Dense, normalTensor } from "../layers/nn.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { Stream } from "../../core/rng.ts";
import { toUnit } from "./shared.ts";
import { GAN_OPTIONS, GanBase } from "./gan.ts";

/** The options of `gan-mlp`. */
export const GAN_MLP_OPTIONS = {
  ...GAN_OPTIONS,
  latent: { type: "int", default: 100, min: 1, doc: "size of z ~ N(0, I)" },
} satisfies OptionSchema;

class GanMlp extends GanBase {
  readonly #latent: number;
  readonly #generator: Dense[];
  readonly #discriminator: Dense[];

  constructor({ shape, options, init }: ModelArgs) {
    const values = readOptions("gan-mlp", GAN_MLP_OPTIONS, options);
    super("gan-mlp", values);
    const dim = dimOf(shape);
    this.#latent = values.latent;
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
  }

  protected generatorLayers(): Dense[] {
    return this.#generator;
  }

  protected discriminatorLayers(): Dense[] {
    return this.#discriminator;
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
    const real = this.signed(batch);
    // D's and G's steps each draw their own z.
    const zD = normalTensor([n, this.#latent], noise) as tf.Tensor2D;
    const zG = normalTensor([n, this.#latent], noise) as tf.Tensor2D;
    const fake = tf.tidy(() => this.#generate(zD));
    try {
      return this.adversarialStep({
        real,
        fake,
        discriminate: (x) => ({ logits: this.#discriminate(x) }),
        generate: () => this.#generate(zG),
      });
    } finally {
      tf.dispose([real, fake, zD, zG]);
    }
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
}

export const ganMlp: ModelSpec = {
  name: "gan-mlp",
  family: "adversarial",
  description: "MLP GAN: G z=100-256-512-D tanh, D D-512-256-1, LeakyReLU 0.2",
  capabilities: ["sample"],
  input: "grey",
  options: GAN_MLP_OPTIONS,
  references: [{
    paper: "Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio 2014, " +
      "Generative Adversarial Nets",
    metric: "parzen_ll",
    value: 225,
    unit: "nats",
    kind: "parzen",
    dataset: "mnist",
    protocol: {
      split: "Gaussian Parzen window on 10,000 samples; σ chosen on the validation set",
      architecture: "paper: maxout D with dropout, ReLU/sigmoid G (real-valued MNIST); " +
        "genbench's gan-mlp is the modern LeakyReLU form, z=100-256-512-784",
    },
    status: "unconfirmed",
    note: "log-likelihood ± 2 (standard error); higher is better. Parzen estimates in 784 " +
      "dimensions are unreliable and depend on the sample count (see parzen_ll)",
  }],
  create: (args) => new GanMlp(args),
};
