/**
 * A linear-Gaussian latent model for testing bounds against a closed form:
 * z ~ N(0, I_d), x = W z + b + σ ε, so p(x) = N(b, W Wᵀ + σ² I). Its q(z|x) is a diagonal
 * Gaussian deliberately off the true posterior (shifted mean, inflated variance), so the
 * ELBO is strictly below log p(x) and the IWAE bound has room to tighten with k.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ElboTerms } from "../../models/model.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Cholesky factor L (lower, row-major) of a symmetric positive-definite n×n matrix. */
function cholesky(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i][j];
      for (let k = 0; k < j; k++) sum -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(sum) : sum / l[j][j];
    }
  }
  return l;
}

export class LinearGaussian {
  /** W as [D][d]. */
  readonly w: number[][];
  readonly b: number[];
  /** q(z|x): mean = A (x − b) + shift, std = qStd (fixed per dimension). */
  readonly #a: number[][];
  readonly #shift: number[];
  readonly qStd: number[];

  constructor(readonly dims: number, readonly latent: number, readonly sigma: number, s: Stream) {
    this.w = Array.from({ length: dims }, () => Array.from({ length: latent }, () => s.normal()));
    this.b = Array.from({ length: dims }, () => 0.5 * s.normal());
    // True posterior: Σ = (I + WᵀW/σ²)⁻¹, mean = Σ Wᵀ (x − b)/σ². Approximate Σ by its
    // diagonal-free version I/(1 + ‖w_j‖²/σ²) — good enough to be close, never exact.
    const s2 = sigma * sigma;
    this.qStd = [];
    this.#a = [];
    for (let j = 0; j < latent; j++) {
      let norm = 0;
      for (let i = 0; i < dims; i++) norm += this.w[i][j] ** 2;
      const v = 1 / (1 + norm / s2);
      this.qStd.push(1.3 * Math.sqrt(v));
      this.#a.push(Array.from({ length: dims }, (_, i) => (v * this.w[i][j]) / s2));
    }
    this.#shift = Array.from({ length: latent }, (_, j) => (j % 2 ? 0.15 : -0.1));
  }

  /** Draw n examples from the model as a flat [n, D] array. */
  sampleData(n: number, s: Stream): Float32Array {
    const out = new Float32Array(n * this.dims);
    for (let e = 0; e < n; e++) {
      const z = Array.from({ length: this.latent }, () => s.normal());
      for (let i = 0; i < this.dims; i++) {
        let v = this.b[i] + this.sigma * s.normal();
        for (let j = 0; j < this.latent; j++) v += this.w[i][j] * z[j];
        out[e * this.dims + i] = v;
      }
    }
    return out;
  }

  /** Exact log p(x) per example (float64). */
  logProb(x: Float32Array): Float64Array {
    const n = x.length / this.dims;
    const cov = Array.from(
      { length: this.dims },
      (_, i) =>
        Array.from({ length: this.dims }, (_, k) => {
          let v = i === k ? this.sigma ** 2 : 0;
          for (let j = 0; j < this.latent; j++) v += this.w[i][j] * this.w[k][j];
          return v;
        }),
    );
    const l = cholesky(cov);
    let logDet = 0;
    for (let i = 0; i < this.dims; i++) logDet += 2 * Math.log(l[i][i]);
    const out = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      // Solve L y = x − b; the quadratic form is ‖y‖².
      const y: number[] = [];
      for (let i = 0; i < this.dims; i++) {
        let v = x[e * this.dims + i] - this.b[i];
        for (let k = 0; k < i; k++) v -= l[i][k] * y[k];
        y.push(v / l[i][i]);
      }
      const quad = y.reduce((acc, v) => acc + v * v, 0);
      out[e] = -0.5 * (this.dims * LOG_2PI + logDet + quad);
    }
    return out;
  }

  #qMean(x: ArrayLike<number>, e: number): number[] {
    return this.#a.map((row, j) =>
      row.reduce((acc, a, i) => acc + a * (x[e * this.dims + i] - this.b[i]), this.#shift[j])
    );
  }

  /** The ELBO in closed form (expectations of Gaussian quadratics): no sampling. */
  elbo(x: tf.Tensor2D): ElboTerms {
    const values = x.dataSync();
    const n = x.shape[0];
    const [elbo, recon, kl] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const s2 = this.sigma ** 2;
    for (let e = 0; e < n; e++) {
      const m = this.#qMean(values, e);
      let sq = 0;
      for (let i = 0; i < this.dims; i++) {
        let r = values[e * this.dims + i] - this.b[i];
        let tr = 0;
        for (let j = 0; j < this.latent; j++) {
          r -= this.w[i][j] * m[j];
          tr += this.w[i][j] ** 2 * this.qStd[j] ** 2;
        }
        sq += r * r + tr;
      }
      recon[e] = 0.5 * this.dims * Math.log(2 * Math.PI * s2) + sq / (2 * s2);
      let klSum = 0;
      for (let j = 0; j < this.latent; j++) {
        const v = this.qStd[j] ** 2;
        klSum += 0.5 * (m[j] ** 2 + v - 1 - Math.log(v));
      }
      kl[e] = klSum;
      elbo[e] = -recon[e] - klSum;
    }
    return {
      elbo: tf.tensor1d(elbo),
      recon: tf.tensor1d(recon),
      kl: tf.tensor1d(kl),
      mean: tf.zerosLike(x),
    };
  }

  /** log (1/k) Σ p(x, z_i)/q(z_i|x), all k samples at once, drawn sample-major from noise. */
  iwae(x: tf.Tensor2D, k: number, noise: Stream): tf.Tensor1D {
    const values = x.dataSync();
    const n = x.shape[0];
    const means = Array.from({ length: n }, (_, e) => this.#qMean(values, e));
    const logW = new Float64Array(n * k);
    const s2 = this.sigma ** 2;
    for (let s = 0; s < k; s++) {
      for (let e = 0; e < n; e++) {
        let lw = 0;
        const z: number[] = [];
        for (let j = 0; j < this.latent; j++) {
          const eps = noise.normal();
          z.push(means[e][j] + this.qStd[j] * eps);
          // log p(z_j) − log q(z_j|x)
          lw += -0.5 * z[j] ** 2 + 0.5 * eps * eps + Math.log(this.qStd[j]);
        }
        for (let i = 0; i < this.dims; i++) {
          let r = values[e * this.dims + i] - this.b[i];
          for (let j = 0; j < this.latent; j++) r -= this.w[i][j] * z[j];
          lw += -0.5 * Math.log(2 * Math.PI * s2) - (r * r) / (2 * s2);
        }
        logW[e * k + s] = lw;
      }
    }
    const out = new Float32Array(n);
    for (let e = 0; e < n; e++) {
      let max = -Infinity;
      for (let s = 0; s < k; s++) max = Math.max(max, logW[e * k + s]);
      let sum = 0;
      for (let s = 0; s < k; s++) sum += Math.exp(logW[e * k + s] - max);
      out[e] = max + Math.log(sum / k);
    }
    return tf.tensor1d(out);
  }
}
