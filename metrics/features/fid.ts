/**
 * Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017, here
 * in the frozen LeNet's feature space rather than Inception's):
 *
 *   FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½
 *
 * Means and covariances are float64 with the unbiased (N − 1) covariance estimator, as
 * pytorch-fid and clean-fid use. The trace term never uses a general `sqrtm` (which can return
 * complex values): it comes from symmetric eigendecompositions, so the result is always real
 * (see {@link traceSqrtProduct}).
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { UsageError } from "../../core/errors.ts";
import { type FeatureRows, rowProducts } from "./gram.ts";

export type { FeatureRows } from "./gram.ts";

/** A Gaussian fitted to features: mean and unbiased covariance (row-major dim × dim). */
export interface GaussianStats {
  count: number;
  dim: number;
  mean: Float64Array;
  cov: Float64Array;
}

/**
 * Mean and unbiased (N − 1) covariance of `rows`. Refuses fewer samples than dim + 1: the
 * covariance would be rank-deficient and the distance meaningless (other tools print NaN or a
 * complex number there).
 */
export function gaussianStats(rows: FeatureRows, what = "features"): GaussianStats {
  const { count: n, dim: d, features: x } = rows;
  if (x.length !== n * d) throw new Error(`${what}: ${x.length} values is not ${n}×${d}`);
  if (n <= d) {
    throw new UsageError(
      `FID: ${n} ${what} cannot give a full-rank covariance of ${d}-d features (need at least ` +
        `${d + 1}; the protocol uses 10,000)`,
    );
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  // Centred products (no E[xxᵀ] − μμᵀ cancellation): cov[a][b] = Σ_i c_ia c_ib, i ascending,
  // as products of the rows of the centred, transposed data (upper triangle, then mirrored).
  const centredT = new Float64Array(d * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centredT[j * n + i] = x[i * d + j] - mean[j];
  }
  const columns = { count: d, dim: n, features: centredT };
  const cov = rowProducts(columns, columns, true);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value = cov[a * d + b] / (n - 1);
      cov[a * d + b] = value;
      cov[b * d + a] = value;
    }
  }
  return { count: n, dim: d, mean, cov };
}

function toMatrix(values: Float64Array, d: number): Matrix {
  const m = new Matrix(d, d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) m.set(a, b, values[a * d + b]);
  }
  return m;
}

/** Eigenvalues and eigenvectors of a symmetric matrix (symmetrised first against rounding). */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const sym = m.clone().add(m.transpose()).mul(0.5);
  const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  return { values: eig.realEigenvalues, vectors: eig.eigenvectorMatrix };
}

/** Row-major d × d values of an ml-matrix Matrix, as feature rows (for the products kernel). */
function rowsOf(m: Matrix): FeatureRows {
  const d = m.rows;
  const features = new Float64Array(d * m.columns);
  for (let i = 0; i < d; i++) features.set(m.getRow(i), i * m.columns);
  return { count: d, dim: m.columns, features };
}

/**
 * tr (Σ₁^½ Σ₂ Σ₁^½)^½ for symmetric positive semi-definite Σ₁, Σ₂. With Σ₁ = U Λ Uᵀ
 * (eigenvalues that rounding makes slightly negative clipped to 0), Σ₁^½ Σ₂ Σ₁^½ has the
 * eigenvalues of the symmetric M = Λ^½ (Uᵀ Σ₂ U) Λ^½, so the trace is Σ √max(μ, 0) over M's
 * eigenvalues μ: one eigendecomposition with vectors, two products (the SIMD kernel of
 * gram.ts) and one more eigendecomposition, instead of two square roots and an SVD. Scaling
 * by Λ^½ on both sides keeps rounding relative to each eigenvalue, so FD(X, X) stays ~1e-12
 * even with near-zero eigenvalues (dead ReLUs, constant pixels).
 */
export function traceSqrtProduct(cov1: Float64Array, cov2: Float64Array, d: number): number {
  const { values, vectors } = symmetricEigen(toMatrix(cov1, d));
  const ut = rowsOf(vectors.transpose());
  // (Uᵀ Σ₂)[i][j] = Σ_t U[t][i] Σ₂[t][j]: rows of Uᵀ against the rows of Σ₂ (symmetric).
  const utSigma = {
    count: d,
    dim: d,
    features: rowProducts(ut, { count: d, dim: d, features: cov2 }),
  };
  // (Uᵀ Σ₂ U)[i][j] = Σ_t (Uᵀ Σ₂)[i][t] U[t][j]: rows of Uᵀ Σ₂ against the rows of Uᵀ.
  const inner = rowProducts(utSigma, ut);
  const root = values.map((v) => Math.sqrt(Math.max(v, 0)));
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) m.set(i, j, root[i] * inner[i * d + j] * root[j]);
  }
  return symmetricEigen(m).values.reduce((sum, v) => sum + Math.sqrt(Math.max(v, 0)), 0);
}

/** Fréchet distance between two fitted Gaussians (clipped at 0 against rounding). */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new Error(`FID: feature widths differ (${a.dim} vs ${b.dim})`);
  const d = a.dim;
  let meanTerm = 0;
  let traces = 0;
  for (let j = 0; j < d; j++) {
    meanTerm += (a.mean[j] - b.mean[j]) ** 2;
    traces += a.cov[j * d + j] + b.cov[j * d + j];
  }
  return Math.max(0, meanTerm + traces - 2 * traceSqrtProduct(a.cov, b.cov, d));
}

/** FID between two feature sets (e.g. generated samples and test images). */
export function fid(a: FeatureRows, b: FeatureRows): number {
  return frechetDistance(gaussianStats(a, "samples"), gaussianStats(b, "reference images"));
}
