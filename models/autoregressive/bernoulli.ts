/**
 * `bernoulli`: every pixel an independent Bernoulli with its own logit (784 parameters on
 * MNIST). The floor every generative model must beat: about 206 nats on binarized MNIST.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GenerativeModel, ModelArgs, ModelSpec } from "../model.ts";
import { bernoulliLogLikelihood, zerosVariable } from "../layers/nn.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { Stream } from "../../core/rng.ts";

class BernoulliModel implements GenerativeModel {
  readonly #logits: tf.Variable;
  readonly #optimizer: tf.AdamOptimizer;

  constructor({ shape, options }: ModelArgs) {
    this.#logits = zerosVariable([dimOf(shape)]);
    this.#optimizer = tf.train.adam(Number(options.learningRate));
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => bernoulliLogLikelihood(tf.broadcastTo(this.#logits, x.shape), x));
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    const loss = this.#optimizer.minimize(
      () => tf.neg(tf.mean(this.logProb(batch))),
      true,
      [this.#logits],
    )!;
    return { nll: loss };
  }

  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const probs = await tf.tidy(() => tf.sigmoid(this.#logits)).data();
    const out = new Float32Array(n * probs.length);
    for (let i = 0; i < out.length; i++) out[i] = noise.uniform() < probs[i % probs.length] ? 1 : 0;
    return out;
  }

  weights(): Map<string, tf.Variable> {
    return new Map([["logits", this.#logits]]);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    this.#logits.dispose();
    this.#optimizer.dispose();
  }
}

export const bernoulli: ModelSpec = {
  name: "bernoulli",
  family: "autoregressive",
  description: "independent Bernoulli per pixel (D logits): the factorized floor",
  capabilities: ["sample", "exact-likelihood"],
  input: "binary",
  defaults: { batchSize: 128, learningRate: 0.05 },
  create: (args) => new BernoulliModel(args),
};
