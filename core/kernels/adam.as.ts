// deno-fmt-ignore-file: AssemblyScript
// Adam's update for the wasm backend as one WebAssembly SIMD (f32x4) pass, written in
// AssemblyScript. Build: `deno run -A --no-lock scripts/build_kernels.ts adam` (writes
// adam_wasm.ts and adam_shared_wasm.ts beside this file). The module imports tfjs-backend-wasm's
// own memory (shared in its threaded build) and has no data segment and no allocator: it reads
// and writes only the arrays whose byte offsets it is given (tensors on tfjs-wasm's heap).
//
// Each lane computes what tfjs's AdamOptimizer computes with 14 float32 kernels, in the same
// order, each operation rounded to float32 as there (no fused multiply-add):
//   m' = m·β₁ + g·(1−β₁)            v' = v·β₂ + (g·g)·(1−β₂)
//   x' = ((m'/c₁) / (√(v'/c₂) + ε))·(−lr) + x        with cₖ = 1 − βₖᵗ.

/**
 * x', m', v' (at xo, mo, vo) from x, m, v, g, n floats each. The outputs may not overlap the
 * inputs except exactly (the same offset): each block of 4 is read before it is written.
 */
export function adam(
  x: usize, m: usize, v: usize, g: usize, xo: usize, mo: usize, vo: usize, n: i32,
  b1: f32, b2: f32, omb1: f32, omb2: f32, c1: f32, c2: f32, eps: f32, negLr: f32,
): void {
  const b1v = f32x4.splat(b1), b2v = f32x4.splat(b2);
  const omb1v = f32x4.splat(omb1), omb2v = f32x4.splat(omb2);
  const c1v = f32x4.splat(c1), c2v = f32x4.splat(c2);
  const epsv = f32x4.splat(eps), lrv = f32x4.splat(negLr);
  const vectorBytes = <usize> (n & ~3) << 2;
  let i: usize = 0;
  for (; i < vectorBytes; i += 16) {
    const gi = v128.load(g + i);
    const m1 = f32x4.add(f32x4.mul(v128.load(m + i), b1v), f32x4.mul(gi, omb1v));
    const v1 = f32x4.add(f32x4.mul(v128.load(v + i), b2v), f32x4.mul(f32x4.mul(gi, gi), omb2v));
    const denom = f32x4.add(f32x4.sqrt(f32x4.div(v1, c2v)), epsv);
    const step = f32x4.mul(f32x4.div(f32x4.div(m1, c1v), denom), lrv);
    const x1 = f32x4.add(step, v128.load(x + i));
    v128.store(mo + i, m1);
    v128.store(vo + i, v1);
    v128.store(xo + i, x1);
  }
  const end = <usize> n << 2;
  for (; i < end; i += 4) {
    const gi = load<f32>(g + i);
    const m1 = load<f32>(m + i) * b1 + gi * omb1;
    const v1 = load<f32>(v + i) * b2 + (gi * gi) * omb2;
    const x1 = (m1 / c1) / (Mathf.sqrt(v1 / c2) + eps) * negLr + load<f32>(x + i);
    store<f32>(mo + i, m1);
    store<f32>(vo + i, v1);
    store<f32>(xo + i, x1);
  }
}
