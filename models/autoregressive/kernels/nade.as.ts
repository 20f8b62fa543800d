// deno-fmt-ignore-file: AssemblyScript (decorators, one constant per row of the table)
// NADE's teacher-forced pass, its gradient and its sampler as WebAssembly SIMD (f32x4)
// kernels, written in AssemblyScript. Build: `deno run -A --no-lock scripts/build_kernels.ts`
// (writes nade_wasm.ts beside this file). Built with one shared, imported memory: several
// threads run these functions at once on disjoint images (see nade_threads.ts).
//
// The hidden pre-activation a_d = c + Σ_{j<d} x_j W_j changes only where x_{d-1} ≠ 0, so the
// sigmoid is evaluated once per run of equal a (once per nonzero pixel, ~100 on MNIST, not 784),
// and the O(D·H) work is one dot per pixel forward and two axpys backward, over H in 4 lanes.
// Images go in groups of 4, so each row of V and dV is loaded once per group (dV and V do not
// fit in cache; the per-image rows do). Pointers are byte offsets; matrices are row-major
// [D, Hp] with Hp a multiple of 16; a group's images are rows n0..n0+3 of x, logits and g.

// σ(a) = 1 / (1 + exp(−a)) on 4 lanes, exp(x) = 2^n · p(r) with r = x − n ln 2 in
// [−ln2/2, ln2/2] and Cephes' expf polynomial (relative error ≈ 1 ulp of float32); x clamped
// so 2^n stays a normal float (a NaN stays NaN through the polynomial). n is rounded by adding 1.5·2^23 (round to nearest even), which
// also leaves n in the sum's low mantissa bits, ready to shift into an exponent. Constants are
// loaded from memory: V8 rebuilds each v128.const from immediates at every use.
const EXP = memory.data<f32>([
  -87.0, -87.0, -87.0, -87.0,
  88.0, 88.0, 88.0, 88.0,
  1.44269504, 1.44269504, 1.44269504, 1.44269504,
  0.693359375, 0.693359375, 0.693359375, 0.693359375,
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4,
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4,
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
  1.0, 1.0, 1.0, 1.0,
  12582912.0, 12582912.0, 12582912.0, 12582912.0,
], 16);
// 1.5·2^23's bit pattern minus the exponent bias 127: (bits(n + 1.5·2^23) − this) << 23 = 2^n.
const ROUND_BITS: i32 = 0x4b400000 - 127;

// @ts-ignore: decorator
@inline
function sigmoidv(a: v128): v128 {
  // pmin/pmax: one instruction each, where min/max's NaN rules cost V8 a sequence.
  const x = f32x4.pmin(f32x4.pmax(f32x4.neg(a), v128.load(EXP)), v128.load(EXP, 16));
  const shifted = f32x4.add(f32x4.mul(x, v128.load(EXP, 32)), v128.load(EXP, 192));
  const n = f32x4.sub(shifted, v128.load(EXP, 192));
  let r = f32x4.sub(x, f32x4.mul(n, v128.load(EXP, 48)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(EXP, 64)));
  let p = v128.load(EXP, 80);
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP, 96));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP, 112));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP, 128));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP, 144));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP, 160));
  const one = v128.load(EXP, 176);
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), one);
  const scale = i32x4.shl(i32x4.sub(shifted, i32x4.splat(ROUND_BITS)), 23);
  return f32x4.div(one, f32x4.add(one, f32x4.mul(p, scale)));
}

/** h = σ(a) over hp floats. */
function sigmoidRow(a: usize, h: usize, hp: i32): void {
  const end = a + (<usize> hp << 2);
  while (a < end) {
    v128.store(h, sigmoidv(v128.load(a)));
    a += 16;
    h += 16;
  }
}

/**
 * a += s·w, then h = σ(a), over hp floats ({@link sigmoidv} inlined with its constants
 * loaded once into locals: ~12% faster than loading them at every use).
 */
function stepRow(s: f32, w: usize, a: usize, h: usize, hp: i32): void {
  const sv = f32x4.splat(s);
  const lo = v128.load(EXP), hi = v128.load(EXP, 16), l2e = v128.load(EXP, 32);
  const c1 = v128.load(EXP, 48), c2 = v128.load(EXP, 64);
  const p5 = v128.load(EXP, 80), p4 = v128.load(EXP, 96), p3 = v128.load(EXP, 112);
  const p2 = v128.load(EXP, 128), p1 = v128.load(EXP, 144), p0 = v128.load(EXP, 160);
  const one = v128.load(EXP, 176), magic = v128.load(EXP, 192);
  const bits = i32x4.splat(ROUND_BITS);
  const end = a + (<usize> hp << 2);
  while (a < end) {
    const next = f32x4.add(v128.load(a), f32x4.mul(sv, v128.load(w)));
    v128.store(a, next);
    const x = f32x4.pmin(f32x4.pmax(f32x4.neg(next), lo), hi);
    const shifted = f32x4.add(f32x4.mul(x, l2e), magic);
    const n = f32x4.sub(shifted, magic);
    let r = f32x4.sub(x, f32x4.mul(n, c1));
    r = f32x4.sub(r, f32x4.mul(n, c2));
    let p = f32x4.add(f32x4.mul(p5, r), p4);
    p = f32x4.add(f32x4.mul(p, r), p3);
    p = f32x4.add(f32x4.mul(p, r), p2);
    p = f32x4.add(f32x4.mul(p, r), p1);
    p = f32x4.add(f32x4.mul(p, r), p0);
    p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), one);
    const scale = i32x4.shl(i32x4.sub(shifted, bits), 23);
    v128.store(h, f32x4.div(one, f32x4.add(one, f32x4.mul(p, scale))));
    a += 16;
    h += 16;
    w += 16;
  }
}

/** y += s·x over hp floats. */
function axpy(s: f32, x: usize, y: usize, hp: i32): void {
  const sv = f32x4.splat(s);
  const end = y + (<usize> hp << 2);
  while (y < end) {
    v128.store(y, f32x4.add(v128.load(y), f32x4.mul(sv, v128.load(x))));
    v128.store(y, f32x4.add(v128.load(y, 16), f32x4.mul(sv, v128.load(x, 16))), 16);
    v128.store(y, f32x4.add(v128.load(y, 32), f32x4.mul(sv, v128.load(x, 32))), 32);
    v128.store(y, f32x4.add(v128.load(y, 48), f32x4.mul(sv, v128.load(x, 48))), 48);
    x += 64;
    y += 64;
  }
}

/** dst += src over `floats` floats (a multiple of 4): one chunk's gradients into the sum. */
export function addInto(dst: usize, src: usize, floats: i32): void {
  const end = dst + (<usize> floats << 2);
  while (dst < end) {
    v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
    dst += 16;
    src += 16;
  }
}

/** First free byte (16-aligned) after the module's static data. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** Grows memory to at least `bytes` bytes. */
export function reserve(bytes: usize): void {
  const pages = <i32> ((bytes + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have) memory.grow(pages - have);
}

/**
 * Scratch floats of one group: per image slot, σ(a) rows of its runs (D + 1 at most; one
 * when `keepRuns` is false), then a, u and `later` rows; then a zero row and a junk row.
 */
export function groupScratch(dims: i32, hp: i32, keepRuns: bool): i32 {
  return 4 * ((keepRuns ? dims + 1 : 1) * hp + 3 * hp) + 2 * hp;
}

// @ts-ignore: decorator
@inline
function slot(scratch: usize, i: i32, dims: i32, hp: i32, keepRuns: bool): usize {
  return scratch + <usize> (i * ((keepRuns ? dims + 1 : 1) * hp + 3 * hp)) * 4;
}

/**
 * Teacher-forced (or, with `thresholds` ≠ 0, sampling) walk over d for images n0..n0+gn−1
 * (gn ≤ 4): logits into out [B, D] (x [B, D] is read, or written when sampling: x_d = 1 where
 * logit_d > thresholds[d·B + n]). With `keepRuns`, each run's σ(a) stays in the image's slot
 * for {@link groupBackward}.
 */
export function groupForward(
  x: usize,
  W: usize,
  c: usize,
  V: usize,
  b: usize,
  out: usize,
  thresholds: usize,
  batch: i32,
  n0: i32,
  gn: i32,
  dims: i32,
  hp: i32,
  scratch: usize,
  keepRuns: bool,
): void {
  const rowBytes = <usize> (hp << 2);
  const runRows = keepRuns ? dims + 1 : 1;
  const zeroRow = slot(scratch, 4, dims, hp, keepRuns);
  memory.fill(zeroRow, 0, rowBytes);
  // Per slot: the current σ(a) row; slots past gn read the zero row and write nowhere used.
  let h0 = zeroRow, h1 = zeroRow, h2 = zeroRow, h3 = zeroRow;
  for (let i = 0; i < gn; i++) {
    const base = slot(scratch, i, dims, hp, keepRuns);
    const a = base + <usize> runRows * rowBytes;
    memory.copy(a, c, rowBytes);
    sigmoidRow(a, base, hp);
    if (i == 0) h0 = base;
    else if (i == 1) h1 = base;
    else if (i == 2) h2 = base;
    else h3 = base;
  }
  for (let d = 0; d < dims; d++) {
    const vRow = V + <usize> d * rowBytes;
    const bias = load<f32>(b + (<usize> d << 2));
    // Four dots against one row of V, loaded once.
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const v = v128.load(vRow + k);
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(h0 + k)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(h1 + k)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(h2 + k)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(h3 + k)));
    }
    for (let i = 0; i < gn; i++) {
      const acc = i == 0 ? a0 : i == 1 ? a1 : i == 2 ? a2 : a3;
      const logit = bias + (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) +
        (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)));
      const n = n0 + i;
      const at = <usize> (n * dims + d) << 2;
      store<f32>(out + at, logit);
      let xd = load<f32>(x + at);
      if (thresholds != 0) {
        xd = logit > load<f32>(thresholds + (<usize> (d * batch + n) << 2)) ? 1 : 0;
        store<f32>(x + at, xd);
      }
      if (xd != 0 && d + 1 < dims) {
        const base = slot(scratch, i, dims, hp, keepRuns);
        const a = base + <usize> runRows * rowBytes;
        const h = i == 0 ? h0 : i == 1 ? h1 : i == 2 ? h2 : h3;
        const next = keepRuns ? h + rowBytes : h;
        stepRow(xd, W + <usize> d * rowBytes, a, next, hp);
        if (i == 0) h0 = next;
        else if (i == 1) h1 = next;
        else if (i == 2) h2 = next;
        else h3 = next;
      }
    }
  }
}

/**
 * Gradients of Σ g ⊙ logits for images n0..n0+gn−1 after {@link groupForward} with
 * `keepRuns`, accumulated into dW, dV [D, Hp], dc [Hp], db [D]. d walks down; per image,
 * u = Σ_{d in run} g_d V_d is flushed into ∂/∂a = u ⊙ h(1 − h) at the run's first pixel, and
 * `later` = Σ over pixels after d of ∂/∂a_d' is ∂/∂W_d where x_d = 1 (and ∂/∂c at the end).
 */
export function groupBackward(
  x: usize,
  g: usize,
  V: usize,
  dW: usize,
  dc: usize,
  dV: usize,
  db: usize,
  n0: i32,
  gn: i32,
  dims: i32,
  hp: i32,
  scratch: usize,
): void {
  const rowBytes = <usize> (hp << 2);
  const zeroRow = slot(scratch, 4, dims, hp, true);
  // Empty slots (gn < 4) read the zero row with g = 0 and accumulate into a junk row.
  const junk = zeroRow + rowBytes;
  memory.fill(zeroRow, 0, rowBytes);
  let h0 = zeroRow, h1 = zeroRow, h2 = zeroRow, h3 = zeroRow;
  let u0 = junk, u1 = junk, u2 = junk, u3 = junk;
  for (let i = 0; i < gn; i++) {
    const base = slot(scratch, i, dims, hp, true);
    // The last run's row: one per nonzero x_d with d < D − 1.
    let runs = 0;
    const xRow = x + (<usize> ((n0 + i) * dims) << 2);
    for (let d = 0; d + 1 < dims; d++) if (load<f32>(xRow + (<usize> d << 2)) != 0) runs++;
    const u = base + <usize> (dims + 2) * rowBytes;
    memory.fill(u, 0, 2 * rowBytes);
    const h = base + <usize> runs * rowBytes;
    if (i == 0) {
      h0 = h;
      u0 = u;
    } else if (i == 1) {
      h1 = h;
      u1 = u;
    } else if (i == 2) {
      h2 = h;
      u2 = u;
    } else {
      h3 = h;
      u3 = u;
    }
  }
  for (let d = dims - 1; d >= 0; d--) {
    const vRow = V + <usize> d * rowBytes;
    const dvRow = dV + <usize> d * rowBytes;
    const dwRow = dW + <usize> d * rowBytes;
    // ∂/∂W_d first: `later` holds the runs after d.
    let dbd: f32 = 0;
    let g0: f32 = 0, g1: f32 = 0, g2: f32 = 0, g3: f32 = 0;
    for (let i = 0; i < gn; i++) {
      const at = <usize> ((n0 + i) * dims + d) << 2;
      const xd = load<f32>(x + at);
      const u = i == 0 ? u0 : i == 1 ? u1 : i == 2 ? u2 : u3;
      if (xd != 0) axpy(xd, u + rowBytes, dwRow, hp);
      const gd = load<f32>(g + at);
      dbd += gd;
      if (i == 0) g0 = gd;
      else if (i == 1) g1 = gd;
      else if (i == 2) g2 = gd;
      else g3 = gd;
    }
    store<f32>(db + (<usize> d << 2), load<f32>(db + (<usize> d << 2)) + dbd);
    // dV_d += Σ_i g_i h_i (one pass over the row) and u_i += g_i V_d.
    const s0 = f32x4.splat(g0), s1 = f32x4.splat(g1), s2 = f32x4.splat(g2), s3 = f32x4.splat(g3);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const v = v128.load(vRow + k);
      let dv = v128.load(dvRow + k);
      dv = f32x4.add(dv, f32x4.mul(s0, v128.load(h0 + k)));
      dv = f32x4.add(dv, f32x4.mul(s1, v128.load(h1 + k)));
      dv = f32x4.add(dv, f32x4.mul(s2, v128.load(h2 + k)));
      dv = f32x4.add(dv, f32x4.mul(s3, v128.load(h3 + k)));
      v128.store(dvRow + k, dv);
      v128.store(u0 + k, f32x4.add(v128.load(u0 + k), f32x4.mul(s0, v)));
      v128.store(u1 + k, f32x4.add(v128.load(u1 + k), f32x4.mul(s1, v)));
      v128.store(u2 + k, f32x4.add(v128.load(u2 + k), f32x4.mul(s2, v)));
      v128.store(u3 + k, f32x4.add(v128.load(u3 + k), f32x4.mul(s3, v)));
    }
    // A run starts at d where d = 0 or x_{d−1} ≠ 0: flush its u, step to the previous run.
    for (let i = 0; i < gn; i++) {
      const at = <usize> ((n0 + i) * dims + d) << 2;
      if (d != 0 && load<f32>(x + at - 4) == 0) continue;
      const h = i == 0 ? h0 : i == 1 ? h1 : i == 2 ? h2 : h3;
      const u = i == 0 ? u0 : i == 1 ? u1 : i == 2 ? u2 : u3;
      const later = u + rowBytes;
      const zero = f32x4.splat(0);
      for (let k: usize = 0; k < rowBytes; k += 16) {
        const hv = v128.load(h + k);
        const da = f32x4.mul(v128.load(u + k), f32x4.mul(hv, f32x4.sub(v128.load(EXP, 176), hv)));
        v128.store(later + k, f32x4.add(v128.load(later + k), da));
        v128.store(u + k, zero);
      }
      // At d = 0 `later` holds ∂/∂a summed over all pixels: the image's ∂/∂c.
      if (d == 0) axpy(1, later, dc, hp);
      if (i == 0) h0 -= rowBytes;
      else if (i == 1) h1 -= rowBytes;
      else if (i == 2) h2 -= rowBytes;
      else h3 -= rowBytes;
    }
  }
}
