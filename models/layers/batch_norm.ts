/**
 * Batch normalisation written with tfjs-core ops, as the DCGAN family uses it: always the
 * statistics of the batch at hand while training; sampling passes frozen statistics instead
 * (see `generatorStats` in models/adversarial/gan.ts), so no running averages (state outside
 * `weights()`, lost by checkpoints) are needed.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { type Layer, normalVariable, zerosVariable } from "./nn.ts";

/** Per-feature mean and (biased) variance of a batch. */
export interface Moments {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * Batch normalisation over every axis but the last (per feature for [B, F], per channel for
 * NHWC), with a learned scale γ ~ N(1, 0.02²) (the DCGAN initialisation) and shift β = 0,
 * ε = 1e-5 as in PyTorch.
 */
export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(readonly name: string, features: number, init: Stream) {
    this.gamma = normalVariable([features], 0.02, init, 1);
    this.beta = zerosVariable([features]);
  }

  /** The batch's statistics of `x`. */
  moments(x: tf.Tensor): Moments {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    return tf.moments(x, axes);
  }

  /** Normalise with `stats` (the batch's own when omitted); returns the statistics used. */
  apply<T extends tf.Tensor>(x: T, stats?: Moments): { y: T; stats: Moments } {
    const used = stats ?? this.moments(x);
    const scale = tf.mul(tf.rsqrt(tf.add(used.variance, 1e-5)), this.gamma);
    const y = tf.add(tf.mul(tf.sub(x, used.mean), scale), this.beta) as T;
    return { y, stats: used };
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/gamma`, this.gamma], [`${this.name}/beta`, this.beta]];
  }
}
