/**
 * Reconstruction metrics and posterior-collapse diagnostics, as pure functions on flat
 * arrays (row-major [N, D] images in [0, 1], [N, Z] latent statistics):
 *
 * - BCE: Σ_d −[x log p + (1 − x) log(1 − p)] per image, in nats.
 * - MSE: mean over pixels of (x − y)² per image; PSNR = 10 log10(R² / MSE) in dB (R = 1).
 * - SSIM (Wang et al. 2004, the reference `ssim_index`): 11×11 Gaussian window with σ = 1.5,
 *   K1 = 0.01, K2 = 0.03, data range L = 1, statistics over the windows that fit inside the
 *   image ("valid"), SSIM = mean of the map. Single-channel images (the first channel).
 * - KL per latent dimension: mean over examples of ½(μ² + σ² − 1 − log σ²) for each dim.
 * - Active units (Burda et al. 2015): dims u with Cov_x(E_q[z_u | x]) > 0.01.
 */
import * as tf from "@tensorflow/tfjs-core";
import { concatArrays } from "../core/files.ts";
import type { ImageShape } from "../datasets/dataset.ts";
import type { GenerativeModel } from "../models/model.ts";

/** Probabilities are clamped to [ε, 1 − ε] so that BCE of a saturated decoder stays finite. */
const EPS = 1e-7;

/** Per-image binary cross-entropy (nats) of targets x against probabilities p, [N, dims]. */
export function bcePerImage(
  x: ArrayLike<number>,
  p: ArrayLike<number>,
  dims: number,
): Float64Array {
  return sumPerImage(x.length / dims, dims, (d) => {
    const q = Math.min(1 - EPS, Math.max(EPS, p[d]));
    return -(x[d] * Math.log(q) + (1 - x[d]) * Math.log(1 - q));
  });
}

/** Σ_d term(d) over each image's `dims` flat indices, for `n` images. */
function sumPerImage(n: number, dims: number, term: (d: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let d = i * dims; d < (i + 1) * dims; d++) sum += term(d);
    out[i] = sum;
  }
  return out;
}

/** Per-image mean squared error over pixels, [N, dims]. */
export function msePerImage(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dims: number,
): Float64Array {
  return sumPerImage(x.length / dims, dims, (d) => (x[d] - y[d]) ** 2).map((sum) => sum / dims);
}

/** Per-image PSNR in dB for data range `range` (Infinity for identical images). */
export function psnrPerImage(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dims: number,
  range = 1,
): Float64Array {
  return msePerImage(x, y, dims).map((mse) => 10 * Math.log10((range * range) / mse));
}

/** SSIM settings; the defaults are the standard ones. */
export interface SsimOptions {
  window?: number;
  sigma?: number;
  k1?: number;
  k2?: number;
  range?: number;
}

/** The normalised 1-D Gaussian of the separable SSIM window. */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  const half = (size - 1) / 2;
  const w = Float64Array.from(
    { length: size },
    (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma ** 2)),
  );
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/** "Valid" separable filtering of an h×w image with the 1-D window g (both directions). */
function filterValid(image: Float64Array, h: number, w: number, g: Float64Array): Float64Array {
  const k = g.length;
  const oh = h - k + 1;
  const ow = w - k + 1;
  // Along rows (taps one apart), then along columns (taps one row of `ow` apart).
  const rows = filterPass(image, h, ow, w, 1, g);
  return filterPass(rows, oh, ow, ow, ow, g);
}

/** One direction of {@link filterValid}: out[y, x] = Σ_i g[i] · src[y · srcWidth + x + i · step]. */
function filterPass(
  src: Float64Array,
  outHeight: number,
  outWidth: number,
  srcWidth: number,
  step: number,
  g: Float64Array,
): Float64Array {
  const out = new Float64Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let i = 0; i < g.length; i++) sum += g[i] * src[y * srcWidth + x + i * step];
      out[y * outWidth + x] = sum;
    }
  }
  return out;
}

/** SSIM of two single-channel h×w images (values in [0, range]). */
export function ssim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  height: number,
  width: number,
  options: SsimOptions = {},
): number {
  const { window = 11, sigma = 1.5, k1 = 0.01, k2 = 0.03, range = 1 } = options;
  if (height < window || width < window) {
    throw new RangeError(
      `ssim: images of ${height}×${width} are smaller than the ${window}×${window} window`,
    );
  }
  const g = gaussianWindow(window, sigma);
  const size = height * width;
  const x = Float64Array.from({ length: size }, (_, i) => a[i]);
  const y = Float64Array.from({ length: size }, (_, i) => b[i]);
  const muX = filterValid(x, height, width, g);
  const muY = filterValid(y, height, width, g);
  const xx = filterValid(x.map((v) => v * v), height, width, g);
  const yy = filterValid(y.map((v) => v * v), height, width, g);
  const xy = filterValid(x.map((v, i) => v * y[i]), height, width, g);
  const c1 = (k1 * range) ** 2;
  const c2 = (k2 * range) ** 2;
  let total = 0;
  for (let i = 0; i < muX.length; i++) {
    const mx = muX[i];
    const my = muY[i];
    const vx = xx[i] - mx * mx;
    const vy = yy[i] - my * my;
    const cxy = xy[i] - mx * my;
    total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return total / muX.length;
}

/** SSIM per image for [N, D] arrays of images of `shape` (first channel). */
export function ssimPerImage(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  shape: ImageShape,
  options: SsimOptions = {},
): Float64Array {
  const { height, width, channels } = shape;
  const dims = height * width * channels;
  const n = x.length / dims;
  const out = new Float64Array(n);
  const plane = (v: ArrayLike<number>, i: number) =>
    Float64Array.from({ length: height * width }, (_, p) => v[i * dims + p * channels]);
  for (let i = 0; i < n; i++) out[i] = ssim(plane(x, i), plane(y, i), height, width, options);
  return out;
}

/** Mean over examples of the Gaussian KL(q ‖ N(0, 1)) of each latent dimension, [Z]. */
export function klPerDim(
  mean: ArrayLike<number>,
  logVar: ArrayLike<number>,
  latent: number,
): Float64Array {
  const n = mean.length / latent;
  const out = new Float64Array(latent);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < latent; j++) {
      const m = mean[i * latent + j];
      const lv = logVar[i * latent + j];
      out[j] += 0.5 * (m * m + Math.exp(lv) - 1 - lv);
    }
  }
  return out.map((v) => v / n);
}

/**
 * Active units: the variance over examples of each dimension's posterior mean, and how many
 * exceed `threshold` (0.01, Burda et al. 2015). Population variance (divide by N).
 */
export function activeUnits(
  mean: ArrayLike<number>,
  latent: number,
  threshold = 0.01,
): { count: number; variance: Float64Array } {
  const n = mean.length / latent;
  const avg = new Float64Array(latent);
  for (let i = 0; i < n; i++) for (let j = 0; j < latent; j++) avg[j] += mean[i * latent + j];
  for (let j = 0; j < latent; j++) avg[j] /= n;
  const variance = new Float64Array(latent);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < latent; j++) variance[j] += (mean[i * latent + j] - avg[j]) ** 2;
  }
  for (let j = 0; j < latent; j++) variance[j] /= n;
  return { count: variance.filter((v) => v > threshold).length, variance };
}

/** Posterior statistics of a data set: means and (for Gaussian encoders) log-variances. */
export interface PosteriorStats {
  count: number;
  latent: number;
  /** [count, latent]. */
  mean: Float32Array;
  /** [count, latent], or null for a deterministic encoder. */
  logVar: Float32Array | null;
  /** The decoder's mean of each posterior mean, [count, dims]: the reconstruction. */
  reconstruction: Float32Array;
}

/**
 * Encode `count` images of `data` ([count, dims], the model's input units) `batchSize` at a
 * time and decode their posterior means: everything the diagnostics above need.
 */
export async function collectPosterior(
  model: Pick<GenerativeModel, "encode" | "decode">,
  data: Float32Array,
  count: number,
  dims: number,
  batchSize: number,
  labels?: Int32Array,
): Promise<PosteriorStats> {
  if (!model.encode || !model.decode) throw new Error("this model has no encoder/decoder");
  const means: Float32Array[] = [];
  const logVars: Float32Array[] = [];
  const recons: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const x = tf.tensor2d(data.subarray(start * dims, (start + n) * dims), [n, dims]);
    const y = labels ? tf.tensor1d(labels.subarray(start, start + n), "int32") : undefined;
    const { mean, logVar } = model.encode(x, y);
    const recon = model.decode(mean, y);
    means.push(await mean.data() as Float32Array);
    if (logVar) logVars.push(await logVar.data() as Float32Array);
    recons.push(await recon.data() as Float32Array);
    for (const t of [x, y, mean, logVar, recon]) t?.dispose();
  }
  const join = (parts: Float32Array[]) => concatArrays(parts, Float32Array);
  const mean = join(means);
  return {
    count,
    latent: mean.length / count,
    mean,
    logVar: logVars.length ? join(logVars) : null,
    reconstruction: join(recons),
  };
}

/** Averages of the reconstruction metrics over a data set, from {@link collectPosterior}. */
export interface ReconstructionSummary {
  bce: number;
  mse: number;
  psnr: number;
  ssim: number;
  activeUnits: number;
  /** Per latent dimension (null for a deterministic encoder). */
  klPerDim: number[] | null;
}

/**
 * BCE, MSE, PSNR and SSIM of the reconstructions (decoder mean at the posterior mean), the
 * active-unit count and the KL per dimension, averaged over the examples. PSNR is averaged
 * per image (images reconstructed exactly are left out of that mean).
 */
export function summarizeReconstruction(
  data: Float32Array,
  stats: PosteriorStats,
  shape: ImageShape,
): ReconstructionSummary {
  const dims = shape.height * shape.width * shape.channels;
  const avg = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
  const x = data.subarray(0, stats.count * dims);
  const psnr = psnrPerImage(x, stats.reconstruction, dims).filter(Number.isFinite);
  const canSsim = shape.height >= 11 && shape.width >= 11;
  return {
    bce: avg(bcePerImage(x, stats.reconstruction, dims)),
    mse: avg(msePerImage(x, stats.reconstruction, dims)),
    psnr: psnr.length ? avg(psnr) : Infinity,
    ssim: canSsim ? avg(ssimPerImage(x, stats.reconstruction, shape)) : NaN,
    activeUnits: activeUnits(stats.mean, stats.latent).count,
    klPerDim: stats.logVar ? Array.from(klPerDim(stats.mean, stats.logVar, stats.latent)) : null,
  };
}
