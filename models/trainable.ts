/**
 * The bookkeeping every model repeats: its named weights (from its layers, in parameter order,
 * which checkpoints rely on), its optimisers in a fixed order, and freeing both.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Layer, namedWeights } from "./layers/nn.ts";

/** A model made of layers and trained by Adam optimisers. */
export abstract class Trainable {
  readonly #optimizers: tf.Optimizer[] = [];

  /** The model's layers in parameter order. */
  protected abstract parts(): Layer[];

  /** A new Adam optimiser of this model; `optimizers()` lists them in creation order. */
  protected adam(learningRate: number, beta1?: number): tf.AdamOptimizer {
    const optimizer = tf.train.adam(learningRate, beta1);
    this.#optimizers.push(optimizer);
    return optimizer;
  }

  weights(): Map<string, tf.Variable> {
    return namedWeights(this.parts());
  }

  /** The optimisers in a fixed order (checkpoints save their state in it). */
  optimizers(): tf.Optimizer[] {
    return [...this.#optimizers];
  }

  dispose(): void {
    for (const weight of this.weights().values()) weight.dispose();
    for (const optimizer of this.#optimizers) optimizer.dispose();
  }
}
