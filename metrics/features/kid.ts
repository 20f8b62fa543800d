/**
 * Kernel Inception Distance (Bińkowski et al. 2018) in the frozen classifier's feature space:
 * the unbiased estimator of the squared MMD with the cubic polynomial kernel
 * k(x, y) = (xᵀy / d + 1)³, averaged over random subsets (defaults: 100 subsets of 1,000, as
 * torch-fidelity and clean-fid use), reported as the mean and the standard deviation over
 * subsets (population std, ddof 0, as torch-fidelity). Unlike FID, its estimator is unbiased,
 * so it is comparable across sample counts and can be slightly negative when the two
 * distributions are equal.
 */
import { UsageError } from "../../core/errors.ts";
import type { Stream } from "../../core/rng.ts";
import type { FeatureRows } from "./fid.ts";

/** The polynomial kernel (xᵀy / d + 1)³ between row i of x and row j of y. */
function kernel(x: Float64Array, i: number, y: Float64Array, j: number, d: number): number {
  let dot = 0;
  const oi = i * d;
  const oj = j * d;
  for (let t = 0; t < d; t++) dot += x[oi + t] * y[oj + t];
  const base = dot / d + 1;
  return base * base * base;
}

/**
 * Unbiased MMD² between all rows of `x` (m rows) and all rows of `y` (n rows):
 * Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ)/(mn).
 */
export function mmd2Unbiased(x: Float64Array, m: number, y: Float64Array, n: number, d: number) {
  if (m < 2 || n < 2) throw new UsageError(`KID: needs at least 2 samples per set (${m}, ${n})`);
  let kxx = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) kxx += kernel(x, i, x, j, d);
  }
  let kyy = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) kyy += kernel(y, i, y, j, d);
  }
  let kxy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) kxy += kernel(x, i, y, j, d);
  }
  return (2 * kxx) / (m * (m - 1)) + (2 * kyy) / (n * (n - 1)) - (2 * kxy) / (m * n);
}

/** KID options. */
export interface KidOptions {
  /** Number of random subsets (default 100). */
  subsets?: number;
  /** Rows per subset, drawn without replacement from each set (default min(1000, counts)). */
  subsetSize?: number;
}

/** KID: mean and std of the unbiased MMD² over subsets, and the settings used. */
export interface KidResult {
  mean: number;
  std: number;
  subsets: number;
  subsetSize: number;
}

function gatherRows(rows: FeatureRows, indices: Uint32Array, size: number): Float64Array {
  const d = rows.dim;
  const out = new Float64Array(size * d);
  for (let i = 0; i < size; i++) {
    out.set(rows.features.subarray(indices[i] * d, (indices[i] + 1) * d), i * d);
  }
  return out;
}

/** KID between `a` (e.g. samples) and `b` (e.g. test images); subsets drawn from `stream`. */
export function kid(a: FeatureRows, b: FeatureRows, stream: Stream, options: KidOptions = {}) {
  if (a.dim !== b.dim) throw new Error(`KID: feature widths differ (${a.dim} vs ${b.dim})`);
  const subsets = options.subsets ?? 100;
  const size = options.subsetSize ?? Math.min(1000, a.count, b.count);
  if (size > a.count || size > b.count) {
    throw new UsageError(
      `KID: subsets of ${size} need at least that many samples (${a.count} and ${b.count})`,
    );
  }
  if (subsets < 1) throw new UsageError(`KID: needs at least one subset (${subsets})`);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const x = gatherRows(a, stream.permutation(a.count), size);
    const y = gatherRows(b, stream.permutation(b.count), size);
    values.push(mmd2Unbiased(x, size, y, size, a.dim));
  }
  const mean = values.reduce((sum, v) => sum + v, 0) / subsets;
  const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / subsets);
  return { mean, std, subsets, subsetSize: size } satisfies KidResult;
}
