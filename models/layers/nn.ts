/**
 * Small building blocks shared by the models: seeded initialisers, the dense layer, and the
 * Bernoulli log-likelihood. Every initial weight comes from the run's init stream.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core alone registers no gradients; the union package registers them all on import.
import "@tensorflow/tfjs";
import type { Stream } from "../../core/rng.ts";
import { type Activation, dense } from "../../core/webgpu/dense.ts";

/**
 * A variable of `shape` drawn uniformly from ±limit with the init stream. Variables stay
 * unnamed in tfjs (its names must be unique per process); models name them in `weights()`.
 */
export function uniformVariable(
  shape: number[],
  limit: number,
  init: Stream,
): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (2 * init.uniform() - 1) * limit;
  // tidy frees the initial tensor; the variable it becomes survives the scope.
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
}

/** A variable of `shape` with entries N(mean, std²) drawn from the init stream. */
export function normalVariable(
  shape: number[],
  std: number,
  init: Stream,
  mean = 0,
): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = mean + std * init.normal();
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
}

/** A zero-initialised variable (biases). */
export function zerosVariable(shape: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros(shape), true));
}

/** Glorot/Xavier uniform limit for a layer with these fan-in and fan-out. */
export function glorotLimit(fanIn: number, fanOut: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * How a layer's kernel is drawn: `glorot` (uniform ±√(6 / (fan-in + fan-out)), the default),
 * or `{ std }` for N(0, std²) (the DCGAN initialisation uses std 0.02, Radford et al. 2016).
 */
export type KernelInit = "glorot" | { std: number };

/** A kernel variable of `shape` with the given fan-in and fan-out, drawn as `how` says. */
export function kernelVariable(
  shape: number[],
  fanIn: number,
  fanOut: number,
  init: Stream,
  how: KernelInit = "glorot",
): tf.Variable {
  return how === "glorot"
    ? uniformVariable(shape, glorotLimit(fanIn, fanOut), init)
    : normalVariable(shape, how.std, init);
}

/** Anything with named variables (for `weights()` and the optimisers' variable lists). */
export interface Layer {
  /** This layer's variables by name: `<layer>/kernel`, `<layer>/bias`… */
  variables(): [string, tf.Variable][];
}

/** A fully connected layer y = act(x·W + b) with W drawn as `kernelInit` says and a zero b. */
export class Dense implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    inputs: number,
    outputs: number,
    init: Stream,
    kernelInit: KernelInit = "glorot",
  ) {
    this.kernel = kernelVariable([inputs, outputs], inputs, outputs, init, kernelInit);
    this.bias = zerosVariable([outputs]);
  }

  /** act(x·W + b); one fused kernel on webgpu (see core/webgpu/dense.ts). */
  apply(x: tf.Tensor2D, activation: Activation = "linear"): tf.Tensor2D {
    return dense(x, this.kernel as tf.Tensor2D, this.bias as tf.Tensor1D, activation);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** The variables of several layers as one name → variable map (for `weights()`). */
export function namedWeights(layers: Layer[]): Map<string, tf.Variable> {
  return new Map(layers.flatMap((layer) => layer.variables()));
}

/** The variables of layers, in order (an optimiser's variable list). */
export function layerVariables(layers: Layer[]): tf.Variable[] {
  return layers.flatMap((layer) => layer.variables().map(([, v]) => v));
}

/** log σ(a)·x + log σ(−a)·(1 − x) summed over the last axis: Bernoulli log-likelihood from logits. */
export function bernoulliLogLikelihood(logits: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor1D {
  // x·a − softplus(a), written in the numerically stable form.
  return tf.sum(tf.sub(tf.mul(x, logits), tf.softplus(logits)), 1) as tf.Tensor1D;
}

/** A tensor of standard normals from a stream (tfjs random ops are never used). */
export function normalTensor(shape: number[], noise: Stream): tf.Tensor {
  return tf.tensor(noise.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

/** The values of `t` on the host; `t` is freed either way. */
export async function download(t: tf.Tensor): Promise<Float32Array> {
  try {
    return await t.data() as Float32Array;
  } finally {
    t.dispose();
  }
}
