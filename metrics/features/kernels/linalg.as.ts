// deno-fmt-ignore-file: AssemblyScript (decorators)
// Float64 dense linear algebra for FID's trace term as WebAssembly SIMD (f64x2) kernels, written
// in AssemblyScript. Build: `deno run -A --no-lock scripts/build_kernels.ts linalg` (writes
// linalg_wasm.ts beside this file). Pointers are byte offsets into this module's memory;
// matrices are row-major. Summation orders are fixed, so results are the same run to run.
//
// - gemmBlock: C = A·B, packed and blocked (KC terms × MC rows) around a 4 × 4 register tile,
//   with flags that skip known zero blocks (triangular factors) and the lower half of a
//   symmetric C.
// - choleskyStep: S = P L Lᵀ Pᵀ for a symmetric positive semi-definite S, stopping at its
//   numerical rank (left-looking, as LAPACK's dpstf2).
// - tridiagonalStep: Householder reduction of a symmetric matrix to tridiagonal form, from the
//   last row up (EISPACK's tred1), each rank-2 update fused with the next step's product.
//
// Each is one step or block of its loop, which the caller runs: V8 first runs WebAssembly in
// baseline code and swaps in optimized code only for later calls.

/** First free byte (16-aligned) after the module's static data. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** Grows memory to at least `bytes` bytes. */
export function reserve(bytes: usize): void {
  const pages = <i32>((bytes + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have) memory.grow(pages - have);
}

const KC: i32 = 256;
const MC: i32 = 64;
/** A is given transposed: its storage is Aᵀ [k × m] (lda = that row length). */
const TRANS_A: i32 = 1;
/** A[i][t] = 0 for t < i (the transpose of a lower-trapezoidal factor). */
const A_UPPER: i32 = 2;
/** B[t][j] = 0 for t < j (a lower-trapezoidal factor). */
const B_LOWER: i32 = 4;
/** C is symmetric: only 4 × 4 tiles with some j ≥ i are computed (the rest stays 0). */
const C_UPPER: i32 = 8;

/** Bytes of scratch that gemm needs for n columns. */
export function gemmWorkBytes(n: i32): usize {
  return ((<usize>(((n + 3) & ~3) + MC) * <usize>KC) << 3) + 128;
}

// B[t0 .. t0 + kc) × [0, n) as panels of 4 columns, each kc rows of 4 (zero past column n).
function packB(B: usize, ldb: i32, t0: i32, kc: i32, n: i32, out: usize): void {
  for (let j = 0; j < n; j += 4) {
    const panel = out + ((<usize>(j >> 2) * <usize>kc) << 5);
    const w = min(4, n - j);
    for (let t = 0; t < kc; t++) {
      const src = B + ((<usize>(t0 + t) * <usize>ldb + <usize>j) << 3);
      const dst = panel + (<usize>t << 5);
      if (w == 4) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let c = 0; c < 4; c++) store<f64>(dst + (<usize>c << 3), c < w ? load<f64>(src + (<usize>c << 3)) : 0.0);
      }
    }
  }
}

// Rows [i0, i1) × terms [t0, t0 + kc) of A as panels of 4 rows, each kc terms of 4 values.
function packA(A: usize, lda: i32, trans: bool, i0: i32, i1: i32, t0: i32, kc: i32, out: usize): void {
  for (let i = i0; i < i1; i += 4) {
    const panel = out + ((<usize>(i - i0) * <usize>kc) << 3);
    const h = min(4, i1 - i);
    for (let t = 0; t < kc; t++) {
      const dst = panel + (<usize>t << 5);
      if (trans && h == 4) {
        const src = A + ((<usize>(t0 + t) * <usize>lda + <usize>i) << 3);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let r = 0; r < 4; r++) {
          let v = 0.0;
          if (r < h) {
            v = trans
              ? load<f64>(A + ((<usize>(t0 + t) * <usize>lda + <usize>(i + r)) << 3))
              : load<f64>(A + ((<usize>(i + r) * <usize>lda + <usize>(t0 + t)) << 3));
          }
          store<f64>(dst + (<usize>r << 3), v);
        }
      }
    }
  }
}

// C[0..h) × [0..w) += Σ_{t ∈ [from, kc)} a_t b_tᵀ over 4-wide packed panels.
// @ts-ignore: decorator
@inline
function tile(a: usize, b: usize, from: i32, kc: i32, C: usize, ldc: i32, h: i32, w: i32, scratch: usize): void {
  let c00 = f64x2.splat(0.0), c01 = f64x2.splat(0.0);
  let c10 = f64x2.splat(0.0), c11 = f64x2.splat(0.0);
  let c20 = f64x2.splat(0.0), c21 = f64x2.splat(0.0);
  let c30 = f64x2.splat(0.0), c31 = f64x2.splat(0.0);
  let pa = a + (<usize>from << 5);
  let pb = b + (<usize>from << 5);
  const end = a + (<usize>kc << 5);
  while (pa < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let s = v128.load64_splat(pa);
    c00 = f64x2.add(c00, f64x2.mul(s, b0));
    c01 = f64x2.add(c01, f64x2.mul(s, b1));
    s = v128.load64_splat(pa, 8);
    c10 = f64x2.add(c10, f64x2.mul(s, b0));
    c11 = f64x2.add(c11, f64x2.mul(s, b1));
    s = v128.load64_splat(pa, 16);
    c20 = f64x2.add(c20, f64x2.mul(s, b0));
    c21 = f64x2.add(c21, f64x2.mul(s, b1));
    s = v128.load64_splat(pa, 24);
    c30 = f64x2.add(c30, f64x2.mul(s, b0));
    c31 = f64x2.add(c31, f64x2.mul(s, b1));
    pa += 32;
    pb += 32;
  }
  const row = <usize>ldc << 3;
  if (h == 4 && w == 4) {
    v128.store(C, f64x2.add(v128.load(C), c00));
    v128.store(C, f64x2.add(v128.load(C, 16), c01), 16);
    v128.store(C + row, f64x2.add(v128.load(C + row), c10));
    v128.store(C + row, f64x2.add(v128.load(C + row, 16), c11), 16);
    v128.store(C + 2 * row, f64x2.add(v128.load(C + 2 * row), c20));
    v128.store(C + 2 * row, f64x2.add(v128.load(C + 2 * row, 16), c21), 16);
    v128.store(C + 3 * row, f64x2.add(v128.load(C + 3 * row), c30));
    v128.store(C + 3 * row, f64x2.add(v128.load(C + 3 * row, 16), c31), 16);
    return;
  }
  // An edge tile: through a copy of the 16 values.
  v128.store(scratch, c00); v128.store(scratch, c01, 16);
  v128.store(scratch, c10, 32); v128.store(scratch, c11, 48);
  v128.store(scratch, c20, 64); v128.store(scratch, c21, 80);
  v128.store(scratch, c30, 96); v128.store(scratch, c31, 112);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const at = C + <usize>r * row + (<usize>c << 3);
      store<f64>(at, load<f64>(at) + load<f64>(scratch + ((<usize>(r * 4 + c)) << 3)));
    }
  }
}

/**
 * One block of C [m × n] (row stride ldc) += A [m × k] · B [k × n] (row strides lda, ldb), with
 * the flags above: rows [i0, i0 + MC) of C, terms [t0, t0 + KC). B's terms must be packed into
 * `work` first (packTerms); C starts at zero, and the caller runs t0 = 0, KC, 2·KC, … in order,
 * so each C entry sums its terms in blocks of KC, each block in order. The caller loops over
 * blocks so that V8 optimizes this function after the first few calls (a long single call
 * would run to its end in the baseline compiler's code).
 */
export function gemmBlock(
  A: usize, lda: i32, C: usize, ldc: i32, m: i32, n: i32, k: i32, flags: i32, work: usize,
  t0: i32, i0: i32,
): void {
  const packedB = work;
  const packedA = work + ((<usize>((n + 3) & ~3) * <usize>KC) << 3);
  const scratch = packedA + ((<usize>MC * <usize>KC) << 3);
  const kc = min(KC, k - t0);
  const t1 = t0 + kc;
  if ((flags & A_UPPER) != 0 && i0 >= t1) return;
  const i1 = min(m, i0 + MC);
  packA(A, lda, (flags & TRANS_A) != 0, i0, i1, t0, kc, packedA);
  for (let j = 0; j < n; j += 4) {
    if ((flags & B_LOWER) != 0 && j >= t1) break;
    const b = packedB + ((<usize>(j >> 2) * <usize>kc) << 5);
    const last = (flags & C_UPPER) != 0 ? min(i1, j + 4) : i1;
    for (let i = i0; i < last; i += 4) {
      let from = 0;
      if ((flags & A_UPPER) != 0) from = max(from, i - t0);
      if ((flags & B_LOWER) != 0) from = max(from, j - t0);
      if (from >= kc) continue;
      const a = packedA + ((<usize>(i - i0) * <usize>kc) << 3);
      const c = C + ((<usize>i * <usize>ldc + <usize>j) << 3);
      tile(a, b, from, kc, c, ldc, min(4, m - i), min(4, n - j), scratch);
    }
  }
}

/** Packs B's terms [t0, t0 + KC) (all n columns) into `work` for gemmBlock. */
export function packTerms(B: usize, ldb: i32, n: i32, k: i32, t0: i32, work: usize): void {
  packB(B, ldb, t0, min(KC, k - t0), n, work);
}

/** Terms per gemm block (KC) and rows per block (MC). */
export function gemmBlockSizes(): i32 {
  return (KC << 16) | MC;
}

// Σ_{t<len} x_t y_t in two lanes (even and odd t), then the lanes added, then a last odd term.
// @ts-ignore: decorator
@inline
function dot(x: usize, y: usize, len: i32): f64 {
  let acc = f64x2.splat(0.0);
  let acc2 = f64x2.splat(0.0);
  const bytes = <usize>len << 3;
  let t: usize = 0;
  for (; t + 32 <= bytes; t += 32) {
    acc = f64x2.add(acc, f64x2.mul(v128.load(x + t), v128.load(y + t)));
    acc2 = f64x2.add(acc2, f64x2.mul(v128.load(x + t, 16), v128.load(y + t, 16)));
  }
  for (; t + 16 <= bytes; t += 16) acc = f64x2.add(acc, f64x2.mul(v128.load(x + t), v128.load(y + t)));
  acc = f64x2.add(acc, acc2);
  let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (t < bytes) sum += load<f64>(x + t) * load<f64>(y + t);
  return sum;
}

/**
 * S [n × n] = P L Lᵀ Pᵀ with L lower-trapezoidal [n × rank] (written as rows of stride n into
 * `L`, which must hold zeros), the permutation in `perm` (i32: row i of L belongs to S's index
 * perm[i]) and `diag` (n doubles) the diagonal still to factor. choleskyStart sets perm and
 * diag; choleskyStep(j) pivots the largest remaining diagonal into place j and computes
 * column j of L, or returns false (nothing written) when that diagonal is ≤ tol: the rank is
 * then j. S is only read.
 */
export function choleskyStart(S: usize, n: i32, perm: usize, diag: usize): void {
  const stride = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    store<i32>(perm + (<usize>i << 2), i);
    store<f64>(diag + (<usize>i << 3), load<f64>(S + <usize>i * stride + (<usize>i << 3)));
  }
}

export function choleskyStep(S: usize, n: i32, L: usize, perm: usize, diag: usize, tol: f64, j: i32): bool {
  const stride = <usize>n << 3;
  let p = j;
  let best = load<f64>(diag + (<usize>j << 3));
  for (let i = j + 1; i < n; i++) {
    const v = load<f64>(diag + (<usize>i << 3));
    if (v > best) { best = v; p = i; }
  }
  if (!(best > tol)) return false;
  const lj = L + <usize>j * stride;
  if (p != j) {
    const lp = L + <usize>p * stride;
    for (let t = 0; t < j; t++) {
      const v = load<f64>(lj + (<usize>t << 3));
      store<f64>(lj + (<usize>t << 3), load<f64>(lp + (<usize>t << 3)));
      store<f64>(lp + (<usize>t << 3), v);
    }
    const q = load<i32>(perm + (<usize>j << 2));
    store<i32>(perm + (<usize>j << 2), load<i32>(perm + (<usize>p << 2)));
    store<i32>(perm + (<usize>p << 2), q);
    store<f64>(diag + (<usize>p << 3), load<f64>(diag + (<usize>j << 3)));
    store<f64>(diag + (<usize>j << 3), best);
  }
  const pivot = Math.sqrt(best);
  store<f64>(lj + (<usize>j << 3), pivot);
  const column = S + <usize>load<i32>(perm + (<usize>j << 2)) * stride;
  for (let i = j + 1; i < n; i++) {
    const li = L + <usize>i * stride;
    const s = load<f64>(column + (<usize>load<i32>(perm + (<usize>i << 2)) << 3));
    const v = (s - dot(li, lj, j)) / pivot;
    store<f64>(li + (<usize>j << 3), v);
    const at = diag + (<usize>i << 3);
    store<f64>(at, load<f64>(at) - v * v);
  }
  return true;
}

// Householder vector for row i of A (its first i entries), as EISPACK's tred1: u (scaled row,
// last entry shifted) and e[i] written; returns h (0 when no reflection is needed).
function reflector(A: usize, n: i32, i: i32, u: usize, e: usize): f64 {
  const row = A + ((<usize>i * <usize>n) << 3);
  const l = i - 1;
  if (l == 0) {
    store<f64>(e + (<usize>i << 3), load<f64>(row));
    return 0;
  }
  let scale = 0.0;
  for (let t = 0; t <= l; t++) scale += Math.abs(load<f64>(row + (<usize>t << 3)));
  if (scale == 0) {
    store<f64>(e + (<usize>i << 3), 0);
    return 0;
  }
  let h = 0.0;
  for (let t = 0; t <= l; t++) {
    const v = load<f64>(row + (<usize>t << 3)) / scale;
    store<f64>(u + (<usize>t << 3), v);
    h += v * v;
  }
  const f = load<f64>(u + (<usize>l << 3));
  const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
  store<f64>(e + (<usize>i << 3), scale * g);
  store<f64>(u + (<usize>l << 3), f - g);
  return h - f * g;
}

// row[0..len) −= a·q + b·u; returns Σ row_new[t]·w[t] over t < dotLen (0 if dotLen is 0).
// @ts-ignore: decorator
@inline
function rank2Row(row: usize, len: i32, a: f64, b: f64, q: usize, u: usize, w: usize, dotLen: i32): f64 {
  const av = f64x2.splat(a);
  const bv = f64x2.splat(b);
  let acc = f64x2.splat(0.0);
  const bytes = <usize>len << 3;
  const dotBytes = <usize>dotLen << 3;
  let t: usize = 0;
  if (dotLen == 0) {
    for (; t + 16 <= bytes; t += 16) {
      v128.store(row + t, f64x2.sub(v128.load(row + t),
        f64x2.add(f64x2.mul(av, v128.load(q + t)), f64x2.mul(bv, v128.load(u + t)))));
    }
  } else {
    for (; t + 16 <= dotBytes; t += 16) {
      const v = f64x2.sub(v128.load(row + t),
        f64x2.add(f64x2.mul(av, v128.load(q + t)), f64x2.mul(bv, v128.load(u + t))));
      v128.store(row + t, v);
      acc = f64x2.add(acc, f64x2.mul(v, v128.load(w + t)));
    }
  }
  let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; t < bytes; t += 8) {
    const v = load<f64>(row + t) - (a * load<f64>(q + t) + b * load<f64>(u + t));
    store<f64>(row + t, v);
    if (t < dotBytes) sum += v * load<f64>(w + t);
  }
  return sum;
}

/**
 * Reduces the symmetric A [n × n] (full storage, overwritten) to the tridiagonal T = QᵀAQ:
 * diagonal d[0..n), off-diagonal e[1..n) (e[i] couples i − 1 and i). Working from the last
 * row up keeps rounding relative for matrices graded with their large entries at the bottom
 * right. The caller runs tridiagonalStart, then tridiagonalStep for i = n − 1 down to 1, each
 * returning the h that the next takes, with (u, p) and (u2, p2) (n doubles each) swapped after
 * every step; then d[0] = A[0][0]. Step i applies reflection i (if h > 0) to the leading block
 * and forms reflection i − 1 and its product with that block in the same pass over the rows.
 */
export function tridiagonalStart(A: usize, n: i32, u: usize, p: usize, e: usize): f64 {
  store<f64>(e, 0);
  if (n < 2) return 0;
  const stride = <usize>n << 3;
  const h = reflector(A, n, n - 1, u, e);
  if (h > 0) {
    for (let j = 0; j < n - 1; j++) store<f64>(p + (<usize>j << 3), dot(A + <usize>j * stride, u, n - 1));
  }
  return h;
}

export function tridiagonalStep(
  A: usize, n: i32, i: i32, h: f64, u: usize, p: usize, u2: usize, p2: usize, d: usize, e: usize,
): f64 {
  const stride = <usize>n << 3;
  const l = i - 1;
  store<f64>(d + (<usize>i << 3), load<f64>(A + <usize>i * stride + (<usize>i << 3)));
  let next = 0.0;
  if (h > 0) {
    // p = A u / h, K = uᵀp / 2h, q = p − K u (in p), then A −= u qᵀ + q uᵀ.
    let k = 0.0;
    for (let j = 0; j <= l; j++) {
      const pj = load<f64>(p + (<usize>j << 3)) / h;
      store<f64>(p + (<usize>j << 3), pj);
      k += load<f64>(u + (<usize>j << 3)) * pj;
    }
    k /= h + h;
    for (let j = 0; j <= l; j++) {
      const at = p + (<usize>j << 3);
      store<f64>(at, load<f64>(at) - k * load<f64>(u + (<usize>j << 3)));
    }
    const rowL = A + <usize>l * stride;
    rank2Row(rowL, l + 1, load<f64>(u + (<usize>l << 3)), load<f64>(p + (<usize>l << 3)), p, u, u, 0);
    if (l >= 1) next = reflector(A, n, l, u2, e);
    // Rows above l: only their first l entries are needed from here on; each row's product
    // with the next Householder vector is taken while the row is in cache.
    const dotLen = next > 0 ? l : 0;
    for (let j = 0; j < l; j++) {
      const pj = rank2Row(A + <usize>j * stride, l, load<f64>(u + (<usize>j << 3)),
        load<f64>(p + (<usize>j << 3)), p, u, u2, dotLen);
      store<f64>(p2 + (<usize>j << 3), pj);
    }
  } else if (l >= 1) {
    next = reflector(A, n, l, u2, e);
    if (next > 0) {
      for (let j = 0; j < l; j++) store<f64>(p2 + (<usize>j << 3), dot(A + <usize>j * stride, u2, l));
    }
  }
  return next;
}
