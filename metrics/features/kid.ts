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
import { gatherRows } from "../../datasets/build.ts";
import type { FeatureRows } from "./fid.ts";
import { rowProducts } from "./gram.ts";

/** The polynomial kernel (xᵀy / d + 1)³ of a dot product. */
function cubic(dot: number, d: number): number {
  const base = dot / d + 1;
  return base * base * base;
}

/** Kernel values in place of the dot products they come from. */
function toKernel(products: Float64Array, d: number): Float64Array {
  for (let i = 0; i < products.length; i++) products[i] = cubic(products[i], d);
  return products;
}

/**
 * Kernel values of a set with itself from its upper-triangle products, mirrored so that every
 * lookup reads along a row (reading the upper triangle down a column missed the cache).
 */
function selfKernel(rows: FeatureRows, d: number): Float64Array {
  const n = rows.count;
  const values = toKernel(rowProducts(rows, rows, true), d);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) values[j * n + i] = values[i * n + j];
  }
  return values;
}

/**
 * Unbiased MMD² from the kernel values of the rows involved: Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) +
 * Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ)/(mn), over x rows xs[0..m) and y rows ys[0..n)
 * (indices into the kernel matrices, full and row-major). Sums run in the
 * order of the plain double loops, so the value is bit-identical to computing each kernel there.
 */
function mmd2FromGrams(
  grams: { xx: Float64Array; yy: Float64Array; xy: Float64Array; mAll: number; nAll: number },
  xs: ArrayLike<number>,
  m: number,
  ys: ArrayLike<number>,
  n: number,
): number {
  const { xx, yy, xy, mAll, nAll } = grams;
  const within = (g: Float64Array, all: number, idx: ArrayLike<number>, count: number) => {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const p = idx[i];
      for (let j = i + 1; j < count; j++) sum += g[p * all + idx[j]];
    }
    return sum;
  };
  const kxx = within(xx, mAll, xs, m);
  const kyy = within(yy, nAll, ys, n);
  let kxy = 0;
  for (let i = 0; i < m; i++) {
    const row = xs[i] * nAll;
    for (let j = 0; j < n; j++) kxy += xy[row + ys[j]];
  }
  return (2 * kxx) / (m * (m - 1)) + (2 * kyy) / (n * (n - 1)) - (2 * kxy) / (m * n);
}

function identity(count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, i) => i);
}

/**
 * Unbiased MMD² between all rows of `x` (m rows) and all rows of `y` (n rows):
 * Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ)/(mn).
 */
export function mmd2Unbiased(x: Float64Array, m: number, y: Float64Array, n: number, d: number) {
  if (m < 2 || n < 2) throw new UsageError(`KID: needs at least 2 samples per set (${m}, ${n})`);
  const xr = { count: m, dim: d, features: x };
  const yr = { count: n, dim: d, features: y };
  const grams = {
    xx: selfKernel(xr, d),
    yy: selfKernel(yr, d),
    xy: toKernel(rowProducts(xr, yr), d),
    mAll: m,
    nAll: n,
  };
  return mmd2FromGrams(grams, identity(m), m, identity(n), n);
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

// Above this many rows per set, the Gram matrices of all rows (count² floats each) are too
// big to keep: each subset's are computed instead (same values, ~10× more work at 10,000).
const FULL_GRAM_ROWS = 4096;

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
  // The kernel values of all pairs of rows once; each subset's sums read them.
  const grams = a.count <= FULL_GRAM_ROWS && b.count <= FULL_GRAM_ROWS
    ? {
      xx: selfKernel(a, a.dim),
      yy: selfKernel(b, a.dim),
      xy: toKernel(rowProducts(a, b), a.dim),
      mAll: a.count,
      nAll: b.count,
    }
    : undefined;
  for (let s = 0; s < subsets; s++) {
    const xs = stream.permutation(a.count);
    const ys = stream.permutation(b.count);
    values.push(
      grams ? mmd2FromGrams(grams, xs, size, ys, size) : mmd2Unbiased(
        gatherRows(a.features, a.dim, xs.subarray(0, size)),
        size,
        gatherRows(b.features, b.dim, ys.subarray(0, size)),
        size,
        a.dim,
      ),
    );
  }
  const mean = values.reduce((sum, v) => sum + v, 0) / subsets;
  const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / subsets);
  return { mean, std, subsets, subsetSize: size } satisfies KidResult;
}
