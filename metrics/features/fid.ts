/**
 * Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017, here
 * in the frozen LeNet's feature space rather than Inception's):
 *
 *   FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½
 *
 * Means and covariances are float64 with the unbiased (N − 1) covariance estimator, as
 * pytorch-fid and clean-fid use. The trace term never uses a general `sqrtm` (which can return
 * complex values): Σ₁^½ and Σ₂^½ come from symmetric eigendecompositions (Σ = U Λ Uᵀ gives
 * Σ^½ = U Λ^½ Uᵀ, eigenvalues that rounding makes slightly negative clipped to 0), and
 * tr (Σ₁^½ Σ₂ Σ₁^½)^½ is the sum of the singular values of Σ₂^½ Σ₁^½, so the result is always
 * real (see {@link traceSqrtProduct}).
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from "ml-matrix";
import { UsageError } from "../../core/errors.ts";

/** `count` feature vectors of width `dim`, row-major. */
export interface FeatureRows {
  count: number;
  dim: number;
  features: Float64Array;
}

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
  // Accumulate centred products (no E[xxᵀ] − μμᵀ cancellation), upper triangle, then mirror.
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b] += ca * centred[b];
    }
  }
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

/** Σ^½ of a symmetric positive semi-definite Σ: U diag(√max(λ, 0)) Uᵀ. */
function psdSqrt(cov: Float64Array, d: number): Matrix {
  const { values, vectors } = symmetricEigen(toMatrix(cov, d));
  const scaled = vectors.clone();
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(Math.max(values[j], 0));
    for (let i = 0; i < d; i++) scaled.set(i, j, scaled.get(i, j) * s);
  }
  return scaled.mmul(vectors.transpose());
}

/**
 * tr (Σ₁^½ Σ₂ Σ₁^½)^½ for symmetric positive semi-definite Σ₁, Σ₂, as the sum of the singular
 * values of A = Σ₂^½ Σ₁^½ (AᵀA = Σ₁^½ Σ₂ Σ₁^½, so its singular values are the square roots of
 * that matrix's eigenvalues). Taking singular values rather than square roots of eigenvalues
 * avoids amplifying rounding in near-zero eigenvalues (LeNet features have several: dead
 * ReLUs): on 2,000 test images FD(X, X) comes out −3e-8 through eigenvalues, −1e-11 this way.
 */
export function traceSqrtProduct(cov1: Float64Array, cov2: Float64Array, d: number): number {
  const product = psdSqrt(cov2, d).mmul(psdSqrt(cov1, d));
  const svd = new SingularValueDecomposition(product, {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  });
  return svd.diagonal.reduce((sum, v) => sum + v, 0);
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
