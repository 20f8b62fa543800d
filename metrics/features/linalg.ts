/**
 * Float64 symmetric linear algebra for FID (fid.ts), on a WebAssembly SIMD kernel of our own
 * (kernels/linalg.as.ts): products XᵀX, a pivoted Cholesky factorization of a positive
 * semi-definite matrix that stops at its numerical rank, the congruence LᵀSL, and the
 * eigenvalues of a symmetric matrix (Householder tridiagonalization in the kernel, then the
 * implicit QL iteration here: no eigenvectors, so O(n³)·4/3 plus O(n²)). Every summation order is
 * fixed: results are the same run to run and machine to machine.
 */
import { wasmBase64 } from "./kernels/linalg_wasm.ts";
import { kernelLoader } from "./kernels/load.ts";

interface LinalgExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  reserve(bytes: number): void;
  gemmWorkBytes(n: number): number;
  gemmBlockSizes(): number;
  packTerms(b: number, ldb: number, n: number, k: number, t0: number, work: number): void;
  gemmBlock(...args: number[]): void;
  choleskyStart(s: number, n: number, perm: number, diag: number): void;
  choleskyStep(...args: number[]): number;
  tridiagonalStart(a: number, n: number, u: number, p: number, e: number): number;
  tridiagonalStep(...args: number[]): number;
}

/** gemm's flags (see kernels/linalg.as.ts). */
const TRANS_A = 1;
const A_UPPER = 2;
const B_LOWER = 4;
const C_UPPER = 8;

const kernel = kernelLoader<LinalgExports>(wasmBase64);

/**
 * Lays out buffers (byte sizes) from the kernel's heap base, 16-aligned, grows memory once and
 * returns their offsets and a view maker (views are made after growing, which detaches).
 */
function layout(sizes: number[]): { at: number[]; f64: (at: number, n: number) => Float64Array } {
  const wasm = kernel();
  let next = wasm.heapBase();
  const at = sizes.map((bytes) => {
    const start = next;
    next += Math.ceil(bytes / 16) * 16;
    return start;
  });
  wasm.reserve(next);
  return { at, f64: (offset, n) => new Float64Array(wasm.memory.buffer, offset, n) };
}

/**
 * C [m × n] (row stride ldc) = A [m × k] · B [k × n], all offsets into the kernel's memory,
 * block by block (see gemmBlock in kernels/linalg.as.ts for the flags).
 */
function gemm(
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  [m, n, k]: [number, number, number],
  flags: number,
  work: number,
): void {
  const wasm = kernel();
  const sizes = wasm.gemmBlockSizes();
  const [termBlock, rowBlock] = [sizes >> 16, sizes & 0xffff];
  const view = new Float64Array(wasm.memory.buffer, c, (m - 1) * ldc + n);
  for (let i = 0; i < m; i++) view.fill(0, i * ldc, i * ldc + n);
  for (let t0 = 0; t0 < k; t0 += termBlock) {
    wasm.packTerms(b, ldb, n, k, t0, work);
    for (let i0 = 0; i0 < m; i0 += rowBlock) {
      wasm.gemmBlock(a, lda, c, ldc, m, n, k, flags, work, t0, i0);
    }
  }
}

/**
 * XᵀX for X [n × d] row-major, or with `shift`, Σᵢ (xᵢ − shift)(xᵢ − shift)ᵀ (the rows
 * centred first, in float64, so there is no E[xxᵀ] − μμᵀ cancellation): d × d, symmetric, full.
 */
export function crossProduct(
  x: Float64Array,
  n: number,
  d: number,
  shift?: Float64Array,
): Float64Array {
  if (x.length !== n * d) throw new Error(`crossProduct: ${x.length} values is not ${n}×${d}`);
  const wasm = kernel();
  const { at: [xAt, cAt, workAt], f64 } = layout([8 * n * d, 8 * d * d, wasm.gemmWorkBytes(d)]);
  const rows = f64(xAt, n * d);
  rows.set(x);
  if (shift) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) rows[i * d + j] -= shift[j];
    }
  }
  gemm(xAt, d, xAt, d, cAt, d, [d, d, n], TRANS_A | C_UPPER, workAt);
  return mirrorUpper(f64(cAt, d * d).slice(), d);
}

function mirrorUpper(m: Float64Array, d: number): Float64Array {
  for (let a = 0; a < d; a++) {
    for (let b = a + 1; b < d; b++) m[b * d + a] = m[a * d + b];
  }
  return m;
}

/** S = P L Lᵀ Pᵀ: L [d × rank] (rows of stride d, zero above the diagonal), row i of L is S's perm[i]. */
export interface PivotedCholesky {
  factor: Float64Array;
  rank: number;
  perm: Int32Array;
}

/**
 * Cholesky factorization with diagonal pivoting of a symmetric positive semi-definite S
 * [d × d] (LAPACK's dpstrf): the largest remaining diagonal is the next pivot, and the
 * factorization stops when it is ≤ `tol` (default d·ε·max Sᵢᵢ, LAPACK's), which gives the
 * numerical rank. Exactly constant features (zero rows) never become pivots.
 */
export function pivotedCholesky(s: Float64Array, d: number, tol?: number): PivotedCholesky {
  if (s.length !== d * d) throw new Error(`pivotedCholesky: ${s.length} values is not ${d}×${d}`);
  let largest = 0;
  for (let i = 0; i < d; i++) largest = Math.max(largest, s[i * d + i]);
  const limit = tol ?? d * Number.EPSILON * largest;
  const { at: [sAt, lAt, permAt, diagAt], f64 } = layout([8 * d * d, 8 * d * d, 4 * d, 8 * d]);
  f64(sAt, d * d).set(s);
  f64(lAt, d * d).fill(0);
  const wasm = kernel();
  wasm.choleskyStart(sAt, d, permAt, diagAt);
  let rank = 0;
  while (rank < d && wasm.choleskyStep(sAt, d, lAt, permAt, diagAt, limit, rank)) rank++;
  return {
    factor: f64(lAt, d * d).slice(),
    rank,
    perm: new Int32Array(kernel().memory.buffer, permAt, d).slice(),
  };
}

/**
 * (PL)ᵀ S (PL) for a pivoted Cholesky factor of another matrix: Lᵀ (PᵀSP) L, rank × rank,
 * symmetric. S's rows and columns are put in pivot order, then two products that skip the
 * factor's zero triangle (d²·rank/2 and d·rank²/2 multiply-adds).
 */
export function congruence(chol: PivotedCholesky, s: Float64Array, d: number): Float64Array {
  const { factor, rank: r, perm } = chol;
  if (s.length !== d * d) throw new Error(`congruence: ${s.length} values is not ${d}×${d}`);
  if (r === 0) return new Float64Array(0);
  const wasm = kernel();
  const { at: [sAt, lAt, yAt, mAt, workAt], f64 } = layout([
    8 * d * d,
    8 * d * d,
    8 * d * r,
    8 * r * r,
    wasm.gemmWorkBytes(r),
  ]);
  const permuted = f64(sAt, d * d);
  for (let a = 0; a < d; a++) {
    const row = perm[a] * d;
    for (let b = 0; b < d; b++) permuted[a * d + b] = s[row + perm[b]];
  }
  f64(lAt, d * d).set(factor);
  // Y = (PᵀSP) L [d × r]; then M = Lᵀ Y [r × r], its upper triangle.
  gemm(sAt, d, lAt, d, yAt, r, [d, r, d], B_LOWER, workAt);
  gemm(lAt, d, yAt, r, mAt, r, [r, r, d], TRANS_A | A_UPPER | C_UPPER, workAt);
  return mirrorUpper(f64(mAt, r * r).slice(), r);
}

/**
 * Eigenvalues (ascending) of the symmetric M [n × n]: Householder tridiagonalization from the
 * last row up, then implicit QL with Wilkinson shifts (EISPACK's tred1 and tql1). Both keep
 * rounding relative to the entries when large entries sit at the bottom right.
 */
export function symmetricEigenvalues(m: Float64Array, n: number): Float64Array {
  if (m.length !== n * n) {
    throw new Error(`symmetricEigenvalues: ${m.length} values is not ${n}×${n}`);
  }
  if (n === 0) return new Float64Array(0);
  const { at: [aAt, dAt, eAt, ...vectors], f64 } = layout(
    [n * n, n, n, n, n, n, n].map((v) => 8 * v),
  );
  f64(aAt, n * n).set(m);
  const wasm = kernel();
  let [u, p, u2, p2] = vectors;
  let h = wasm.tridiagonalStart(aAt, n, u, p, eAt);
  for (let i = n - 1; i >= 1; i--) {
    h = wasm.tridiagonalStep(aAt, n, i, h, u, p, u2, p2, dAt, eAt);
    [u, p, u2, p2] = [u2, p2, u, p];
  }
  f64(dAt, 1)[0] = f64(aAt, 1)[0];
  const d = f64(dAt, n).slice();
  // QL wants off-diagonal f[i] coupling i and i + 1.
  const e = f64(eAt, n);
  const f = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) f[i] = e[i + 1];
  tridiagonalQL(d, f);
  return d.sort();
}

function pythag(a: number, b: number): number {
  const [x, y] = [Math.abs(a), Math.abs(b)];
  if (x > y) return x * Math.sqrt(1 + (y / x) ** 2);
  return y === 0 ? 0 : y * Math.sqrt(1 + (x / y) ** 2);
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix with diagonal d and off-diagonal f (f[i]
 * couples i and i + 1), in place into d: implicit QL with Wilkinson shifts, as EISPACK's tql1.
 */
function tridiagonalQL(d: Float64Array, f: Float64Array): void {
  const n = d.length;
  for (let l = 0; l < n; l++) {
    for (let iteration = 0;; iteration++) {
      let m = l;
      for (; m < n - 1; m++) {
        if (Math.abs(f[m]) <= Number.EPSILON * (Math.abs(d[m]) + Math.abs(d[m + 1]))) break;
      }
      if (m === l) break;
      if (iteration === 60) throw new Error("symmetricEigenvalues: QL did not converge");
      let g = (d[l + 1] - d[l]) / (2 * f[l]);
      let r = pythag(g, 1);
      g = d[m] - d[l] + f[l] / (g + (g >= 0 ? r : -r));
      let [s, c, p] = [1, 1, 0];
      let deflated = false;
      for (let i = m - 1; i >= l; i--) {
        const a = s * f[i];
        const b = c * f[i];
        r = pythag(a, g);
        f[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          f[m] = 0;
          deflated = true;
          break;
        }
        s = a / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l] -= p;
      f[l] = g;
      f[m] = 0;
    }
  }
}
