import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import {
  congruence,
  crossProduct,
  pivotedCholesky,
  symmetricEigenvalues,
} from "../../metrics/features/linalg.ts";

function gaussian(count: number, s: Stream): Float64Array {
  return Float64Array.from({ length: count }, () => s.normal());
}

/** A random n × n orthogonal matrix (Gram–Schmidt on Gaussian rows), row-major. */
function rotation(n: number, s: Stream): Float64Array {
  const q = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const v = gaussian(n, s);
    for (let p = 0; p < r; p++) {
      let dot = 0;
      for (let t = 0; t < n; t++) dot += v[t] * q[p * n + t];
      for (let t = 0; t < n; t++) v[t] -= dot * q[p * n + t];
    }
    const norm = Math.hypot(...v);
    for (let t = 0; t < n; t++) q[r * n + t] = v[t] / norm;
  }
  return q;
}

/** Qᵀ diag(values) Q: a symmetric matrix with exactly these eigenvalues (to rounding). */
function withSpectrum(values: number[], s: Stream): Float64Array {
  const n = values.length;
  const q = rotation(n, s);
  const m = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += q[k * n + a] * values[k] * q[k * n + b];
      m[a * n + b] = sum;
    }
  }
  return m;
}

Deno.test("crossProduct: equals plain sums over every edge tile, row block and term block", () => {
  const s = Stream.derive(1, "linalg-cross");
  // d = 67: two row blocks of 64 and edge tiles of 3; n = 300: two term blocks of 256.
  for (const [n, d] of [[1, 1], [3, 5], [7, 9], [300, 67]]) {
    const x = gaussian(n * d, s);
    const shift = gaussian(d, s);
    for (const centre of [undefined, shift]) {
      const got = crossProduct(x, n, d, centre);
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          let sum = 0;
          let size = 0;
          for (let i = 0; i < n; i++) {
            const term = (x[i * d + a] - (centre?.[a] ?? 0)) * (x[i * d + b] - (centre?.[b] ?? 0));
            sum += term;
            size += Math.abs(term);
          }
          const error = Math.abs(got[a * d + b] - sum);
          assert.ok(error <= 1e-14 * n * size + 1e-300, `${n}×${d} [${a}][${b}]: ${error}`);
        }
      }
    }
  }
});

Deno.test("pivotedCholesky: P L Lᵀ Pᵀ = S; singular S stops at its rank, constant features never pivot", () => {
  const s = Stream.derive(1, "linalg-cholesky");
  const [n, d] = [200, 70];
  // Columns 5, 17 and 40 constant (zero after centring), column 9 = 2 × column 3: rank 66.
  const x = gaussian(n * d, s);
  for (let i = 0; i < n; i++) {
    for (const c of [5, 17, 40]) x[i * d + c] = 0;
    x[i * d + 9] = 2 * x[i * d + 3];
  }
  const cov = crossProduct(x, n, d);
  const { factor, rank, perm } = pivotedCholesky(cov, d);
  assert.equal(rank, 66);
  for (const c of [5, 17, 40]) assert.ok(perm.indexOf(c) >= rank, `constant feature ${c} pivoted`);
  for (let j = 1; j < rank; j++) {
    assert.ok(factor[j * d + j] <= factor[(j - 1) * d + j - 1], `pivots increase at ${j}`);
  }
  let largest = 0;
  for (const v of cov) largest = Math.max(largest, Math.abs(v));
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let sum = 0;
      for (let t = 0; t < rank; t++) sum += factor[a * d + t] * factor[b * d + t];
      const error = Math.abs(sum - cov[perm[a] * d + perm[b]]);
      assert.ok(error <= 1e-12 * largest, `[${a}][${b}]: ${error}`);
    }
  }
  // Full rank: every pivot taken.
  assert.equal(pivotedCholesky(crossProduct(gaussian(n * 9, s), n, 9), 9).rank, 9);
});

Deno.test("congruence: Lᵀ (PᵀSP) L equals the plain triple product", () => {
  const s = Stream.derive(1, "linalg-congruence");
  for (const [n, d] of [[4, 3], [60, 70], [300, 131]]) {
    const chol = pivotedCholesky(crossProduct(gaussian(n * d, s), n, d), d);
    const other = crossProduct(gaussian(n * d, s), n, d);
    const got = congruence(chol, other, d);
    const r = chol.rank;
    assert.equal(r, Math.min(n, d));
    let largest = 0;
    for (const v of got) largest = Math.max(largest, Math.abs(v));
    // Y = (PᵀSP) L, then Lᵀ Y, by plain loops.
    const y = new Float64Array(d * r);
    for (let t = 0; t < d; t++) {
      for (let b = 0; b < r; b++) {
        for (let u = 0; u < d; u++) {
          y[t * r + b] += other[chol.perm[t] * d + chol.perm[u]] * chol.factor[u * d + b];
        }
      }
    }
    for (let a = 0; a < r; a++) {
      for (let b = 0; b < r; b++) {
        let sum = 0;
        for (let t = 0; t < d; t++) sum += chol.factor[t * d + a] * y[t * r + b];
        assert.ok(Math.abs(got[a * r + b] - sum) <= 1e-12 * largest, `${d}: [${a}][${b}]`);
      }
    }
  }
});

Deno.test("symmetricEigenvalues: the closed-form spectrum of the second-difference matrix", () => {
  // tridiag(−1, 2, −1) of size n has eigenvalues 2 − 2 cos(kπ/(n+1)), k = 1..n; here given
  // as a full matrix in a random orthogonal basis, so the reduction has work to do.
  const n = 100;
  const s = Stream.derive(1, "linalg-second-difference");
  const q = rotation(n, s);
  const t = (a: number, b: number) => a === b ? 2 : Math.abs(a - b) === 1 ? -1 : 0;
  const m = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let sum = 0;
      for (let k = 0; k < n; k++) {
        for (let l = Math.max(0, k - 1); l <= Math.min(n - 1, k + 1); l++) {
          sum += q[k * n + a] * t(k, l) * q[l * n + b];
        }
      }
      m[a * n + b] = sum;
    }
  }
  const got = symmetricEigenvalues(m, n);
  for (let k = 1; k <= n; k++) {
    const expected = 2 - 2 * Math.cos((k * Math.PI) / (n + 1));
    assert.ok(Math.abs(got[k - 1] - expected) <= 1e-13, `λ${k}: ${got[k - 1]} vs ${expected}`);
  }
});

Deno.test("symmetricEigenvalues: known spectra with repeats, zeros, negatives and a wide range", () => {
  const s = Stream.derive(1, "linalg-spectra");
  const cases = [
    [3.5],
    [1, -2],
    [0, 0, 0, 1e-3, 5],
    [4, 4, 4, 4, 1, 1, -3, 0, 0, 2],
    Array.from({ length: 40 }, (_, i) => 1e3 * 10 ** (-i / 4)),
  ];
  for (const values of cases) {
    const got = symmetricEigenvalues(withSpectrum(values, s), values.length);
    const expected = [...values].sort((a, b) => a - b);
    const scale = Math.max(...values.map(Math.abs));
    got.forEach((v, i) => {
      assert.ok(
        Math.abs(v - expected[i]) <= 1e-13 * scale,
        `${values.length}: ${v} vs ${expected[i]}`,
      );
    });
  }
  assert.deepEqual([...symmetricEigenvalues(new Float64Array(9), 3)], [0, 0, 0]);
  assert.equal(symmetricEigenvalues(new Float64Array(0), 0).length, 0);
});
