/** Shared checks for the autoregressive model tests (nade, made, pixelcnn, gated-pixelcnn). */
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../../core/rng.ts";
import { selectBackend } from "../../../core/backend.ts";
import type { GenerativeModel } from "../../../models/model.ts";

/** Selects the deterministic CPU backend (tests never touch a GPU). */
export async function useCpu(): Promise<void> {
  await selectBackend("cpu");
}

/** Every binary image of `dims` pixels, pixel 0 as the most significant bit: [2^dims, dims]. */
export function allBinaryImages(dims: number): tf.Tensor2D {
  const count = 2 ** dims;
  const values = new Float32Array(count * dims);
  for (let k = 0; k < count; k++) {
    for (let d = 0; d < dims; d++) values[k * dims + d] = (k >> (dims - 1 - d)) & 1;
  }
  return tf.tensor2d(values, [count, dims]);
}

/** Every image of `dims` pixels with values 0..levels−1: [levels^dims, dims]. */
export function allImages(dims: number, levels: number): tf.Tensor2D {
  const count = levels ** dims;
  const values = new Float32Array(count * dims);
  for (let k = 0; k < count; k++) {
    let rest = k;
    for (let d = dims - 1; d >= 0; d--) {
      values[k * dims + d] = rest % levels;
      rest = Math.floor(rest / levels);
    }
  }
  return tf.tensor2d(values, [count, dims]);
}

/** log Σ exp(v) in float64. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

/** Σ_x p(x) over all the given images, from the model's per-example log-probabilities. */
export function totalProbability(model: GenerativeModel, images: tf.Tensor2D): number {
  const chunk = 4096;
  const logps: number[] = [];
  for (let start = 0; start < images.shape[0]; start += chunk) {
    const size = Math.min(chunk, images.shape[0] - start);
    const part = tf.slice(images, [start, 0], [size, -1]);
    const logp = model.logProb!(part);
    logps.push(...logp.dataSync());
    tf.dispose([part, logp]);
  }
  return Math.exp(logSumExp(logps));
}

/** A [count, dims] batch of seeded random binary images with per-pixel probabilities `p`. */
export function binaryBatch(count: number, p: Float32Array, seed: number): tf.Tensor2D {
  const stream = Stream.derive(seed, "test/data");
  const values = new Float32Array(count * p.length);
  for (let i = 0; i < values.length; i++) values[i] = stream.uniform() < p[i % p.length] ? 1 : 0;
  return tf.tensor2d(values, [count, p.length]);
}

/**
 * A tiny synthetic binary problem with strong pixel dependencies: each image is one of a few
 * random prototypes with 5% of its pixels flipped.
 */
export function prototypeBatch(count: number, dims: number, seed: number): tf.Tensor2D {
  const stream = Stream.derive(seed, "test/prototypes");
  const prototypes = Array.from(
    { length: 4 },
    () => stream.uniformArray(dims).map((u) => u < 0.5 ? 1 : 0),
  );
  const values = new Float32Array(count * dims);
  for (let i = 0; i < count; i++) {
    const proto = prototypes[stream.int(prototypes.length)];
    for (let d = 0; d < dims; d++) {
      const flip = stream.uniform() < 0.05;
      values[i * dims + d] = flip ? 1 - proto[d] : proto[d];
    }
  }
  return tf.tensor2d(values, [count, dims]);
}

/** Mean negative log-likelihood (nats) of `x` under the model. */
export function meanNll(model: GenerativeModel, x: tf.Tensor2D): number {
  return tf.tidy(() => -tf.mean(model.logProb!(x)).dataSync()[0]);
}

/** Runs `steps` training steps on `x` and returns the mean NLL before and after. */
export function trainFor(
  model: GenerativeModel,
  x: tf.Tensor2D,
  steps: number,
): { before: number; after: number } {
  const before = meanNll(model, x);
  const noise = Stream.derive(1, "test/train");
  for (let step = 0; step < steps; step++) {
    const losses = model.trainStep(x, noise);
    tf.dispose(Object.values(losses));
  }
  return { before, after: meanNll(model, x) };
}

/**
 * Checks that `sample` draws each pixel from the model's own conditionals: with the same seed,
 * the uniforms the sampler used are re-drawn here (pixel-major, as `pixelUniforms` draws them)
 * and every sampled pixel must be the one that the teacher-forced logits of the final samples
 * give for that uniform. Pixels whose decision is within `tie` of the boundary are skipped.
 * `logits` maps samples [n, D] to [n, D] (Bernoulli) or [n, D, levels] (categorical).
 * Returns the number of pixels checked.
 */
export async function checkSamplesFollowLogits(
  model: GenerativeModel,
  logits: (x: tf.Tensor2D) => tf.Tensor,
  dims: number,
  n: number,
  levels: number,
): Promise<{ checked: number; mismatches: number }> {
  const seed = 5;
  const samples = await model.sample!(n, Stream.derive(seed, "test/sample"));
  const replay = Stream.derive(seed, "test/sample");
  const u = new Float64Array(dims * n);
  for (let i = 0; i < u.length; i++) u[i] = replay.uniform();
  const x = tf.tensor2d(samples, [n, dims]);
  const out = logits(x);
  const values = out.dataSync();
  tf.dispose([x, out]);
  let checked = 0;
  let mismatches = 0;
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < dims; d++) {
      const uniform = u[d * n + s];
      const value = samples[s * dims + d];
      if (levels === 2) {
        const p = 1 / (1 + Math.exp(-values[s * dims + d]));
        if (Math.abs(p - uniform) < 1e-5) continue;
        checked++;
        if ((uniform < p ? 1 : 0) !== value) mismatches++;
      } else {
        const base = (s * dims + d) * levels;
        let max = -Infinity;
        for (let k = 0; k < levels; k++) max = Math.max(max, values[base + k]);
        let total = 0;
        for (let k = 0; k < levels; k++) total += Math.exp(values[base + k] - max);
        let cdf = 0;
        let expected = levels - 1;
        let nearTie = false;
        for (let k = 0; k < levels; k++) {
          cdf += Math.exp(values[base + k] - max) / total;
          if (Math.abs(cdf - uniform) < 1e-5) nearTie = true;
          if (uniform < cdf) {
            expected = k;
            break;
          }
        }
        if (nearTie) continue;
        checked++;
        if (expected !== value) mismatches++;
      }
    }
  }
  return { checked, mismatches };
}

/**
 * d logit_i / d x_j for every i, j of one image: a single backward pass over D copies of the
 * image, copy i contributing only its own logit i (for 8-bit, a fixed mix of its 256 logits).
 */
export function jacobianRows(
  model: { logits(x: tf.Tensor2D): tf.Tensor },
  values: ArrayLike<number>,
): number[][] {
  const dims = values.length;
  const copies = tf.tile(tf.tensor2d(Array.from(values), [1, dims]), [dims, 1]);
  const select = tf.oneHot(tf.range(0, dims, 1, "int32"), dims);
  const grad = tf.grad((input: tf.Tensor) => {
    const out = model.logits(input as tf.Tensor2D);
    const perPixel = out.rank === 2
      ? out
      : tf.sum(tf.mul(out, tf.linspace(-1, 1, out.shape[2]!)), 2);
    return tf.sum(tf.mul(perPixel, select));
  })(copies);
  const rows = grad.arraySync() as number[][];
  tf.dispose([copies, select, grad]);
  return rows;
}

/** Pixel values of one test image: 0/1, or 0..255 for 8 bits. */
export function testImage(dims: number, bits: number): number[] {
  return Array.from(Stream.derive(2, "x").uniformArray(dims)).map((u) =>
    bits === 8 ? Math.floor(u * 256) : u < 0.5 ? 1 : 0
  );
}
