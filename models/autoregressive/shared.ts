/**
 * Helpers shared by the autoregressive models (`nade`, `made`, `pixelcnn`, `gated-pixelcnn`):
 * the `bits` option, exact log-likelihoods from logits, and pixel-by-pixel
 * sampling driven by uniforms drawn on the host from a seeded stream (tfjs random ops are never
 * used, and no per-pixel read-back is needed: the decision is a comparison on the device).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import type { InputKind, ModelOptions } from "../model.ts";
import { bernoulliLogLikelihood } from "../layers/nn.ts";
import { checkWidth } from "../layers/checks.ts";

// nade and made read the width check from here; the pixel CNNs use models/layers/ directly.
export { checkWidth } from "../layers/checks.ts";

/** The function type `tf.customGrad` takes (tfjs-core does not export its name). */
export type CustomGradient = Parameters<typeof tf.customGrad>[0];

/** The `bits` option of a pixel model: 1 (binarized pixels) or 8 (256 grey levels). */
export function bitsOption(model: string, options: ModelOptions, supported: number[]): number {
  const bits = Number(options.bits ?? 1);
  if (!supported.includes(bits)) {
    const what = supported.length === 1
      ? `only ${supported[0]}-bit (${supported[0] === 1 ? "binarized" : "8-bit"}) data`
      : `bits=${supported.join(" or ")}`;
    throw new UsageError(`${model}: bits=${options.bits} is not supported (it models ${what})`);
  }
  return bits;
}

/** The input kind for a `bits` option: 8 → `byte`, otherwise `binary`. */
export function inputKindForBits(options: ModelOptions): InputKind {
  return Number(options.bits ?? 1) === 8 ? "byte" : "binary";
}

/** A positive integer option, or a one-line UsageError. */
export function intOption(model: string, options: ModelOptions, key: string): number {
  const value = Number(options[key]);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(
      `${model}: option ${key} must be a positive integer (got ${options[key]})`,
    );
  }
  return value;
}

/** A positive number option, or a one-line UsageError. */
export function positiveOption(model: string, options: ModelOptions, key: string): number {
  const value = Number(options[key]);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`${model}: option ${key} must be a positive number (got ${options[key]})`);
  }
  return value;
}

/**
 * Exact log p(x) per example from per-pixel outputs: `logits` [B, D] (Bernoulli) when
 * `levels` is 2 with x in {0, 1}, or [B, D, levels] (categorical) with x the integer level.
 */
export function pixelLogLikelihood(logits: tf.Tensor, x: tf.Tensor2D, levels: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (levels === 2) return bernoulliLogLikelihood(logits as tf.Tensor2D, x);
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(x, "int32"), levels);
    return tf.sum(tf.mul(logp, onehot), [1, 2]) as tf.Tensor1D;
  });
}

/** The head's outputs [B·D, 1 or levels] as {@link pixelLogLikelihood} takes them. */
export function pixelOutputs(
  out: tf.Tensor,
  batch: number,
  dims: number,
  levels: number,
): tf.Tensor {
  return levels === 2 ? tf.reshape(out, [batch, dims]) : tf.reshape(out, [batch, dims, levels]);
}

/** What {@link pixelLogProb} and {@link pixelNllStep} need of a pixel-by-pixel model. */
export interface PixelModel {
  readonly name: string;
  readonly dims: number;
  readonly config: { readonly levels: number };
  /** Per-pixel outputs of x [B, D], as {@link pixelLogLikelihood} takes them. */
  logits(x: tf.Tensor2D): tf.Tensor;
  weights(): Map<string, tf.Variable>;
}

/** Exact log p(x) per example of x [B, D] under `model`. */
export function pixelLogProb(model: PixelModel, x: tf.Tensor2D): tf.Tensor1D {
  checkWidth(model.name, x, model.dims);
  return tf.tidy(() => pixelLogLikelihood(model.logits(x), x, model.config.levels));
}

/** One `optimizer` step of all of `model`'s weights on the mean NLL of `batch`: `{ nll }`. */
export function pixelNllStep(
  model: PixelModel,
  optimizer: tf.Optimizer,
  batch: tf.Tensor2D,
): Record<string, tf.Scalar> {
  checkWidth(model.name, batch, model.dims);
  const loss = optimizer.minimize(
    () => tf.neg(tf.mean(pixelLogLikelihood(model.logits(batch), batch, model.config.levels))),
    true,
    [...model.weights().values()],
  ) as tf.Scalar;
  return { nll: loss };
}

/**
 * Per-pixel uniforms for `n` samples of `dims` pixels, drawn from `noise` pixel-major (all
 * samples of pixel 0, then pixel 1, …) and uploaded once as a [dims, n] tensor. For Bernoulli
 * pixels they are turned into logistic thresholds log(u / (1 − u)) in float64 first, so that
 * `x = logit > threshold` is exactly `u < σ(logit)` with no sigmoid on the device.
 */
export function pixelUniforms(noise: Stream, dims: number, n: number, bernoulli: boolean) {
  const values = new Float32Array(dims * n);
  for (let i = 0; i < values.length; i++) {
    const u = noise.uniform();
    values[i] = bernoulli ? Math.log(u) - Math.log1p(-u) : u;
  }
  return tf.tensor2d(values, [dims, n]);
}

/**
 * Draws one pixel for each of the n samples from its logits ([n, 1] Bernoulli or [n, levels]
 * categorical) and the pixel's row of {@link pixelUniforms} ([1, n]). Returns the values as
 * [n, 1] floats: 0/1, or 0..levels−1 by inverting the categorical CDF.
 */
export function drawPixel(logits: tf.Tensor2D, uniforms: tf.Tensor2D, levels: number): tf.Tensor2D {
  return tf.tidy(() => {
    const u = tf.reshape(uniforms, [-1, 1]);
    if (levels === 2) return tf.cast(tf.greater(logits, u), "float32") as tf.Tensor2D;
    const cdf = tf.cumsum(tf.softmax(logits), 1);
    const below = tf.sum(tf.cast(tf.less(cdf, u), "float32"), 1, true);
    return tf.minimum(below, levels - 1) as tf.Tensor2D;
  });
}

/** Keeps the result of a tidy scope and disposes what it replaces (for loop state). */
export function replace<T extends tf.Tensor>(old: T | null, next: T): T {
  old?.dispose();
  return next;
}
