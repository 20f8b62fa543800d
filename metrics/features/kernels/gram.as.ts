// deno-fmt-ignore-file: AssemblyScript (decorators)
// Float64 products of rows for the feature metrics as WebAssembly SIMD (f64x2) kernels, written
// in AssemblyScript. Build: `deno run -A --no-lock scripts/build_kernels.ts` (writes
// gram_wasm.ts beside this file).
//
// Every entry is the plain sequential sum Σ_t a_t·b_t, t ascending from +0, exactly as a scalar
// loop computes it: the two f64x2 lanes hold two different entries, never two halves of one
// sum, and terms with a_t = 0 are skipped (adding ±0 leaves a sum unchanged). So results are
// bit-identical to the naive loop whatever the blocking.

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

/**
 * C[i − i0, j] = Σ_t A[i, t]·BT[t, j] for rows i in [i0, i1) and columns j in [j0, j1), with
 * A [m × k] row-major, BT [k × n] and C [(i1 − i0) × n] row-major (n, j0 and j1 even). With
 * `upper`, only j ≥ i (rounded down to even) is computed. Only terms t in [t0, t1) are added:
 * calls for consecutive ranges of t continue each sum in order. C must start at zero.
 */
export function gramBlock(
  A: usize, BT: usize, C: usize, k: i32, n: i32,
  i0: i32, i1: i32, j0: i32, j1: i32, t0: i32, t1: i32, upper: bool,
): void {
  const rowBytes = <usize>n << 3;
  for (let i = i0; i < i1; i++) {
    const from = upper ? max(j0, i & ~1) : j0;
    if (from >= j1) continue;
    const cRow = C + <usize>(i - i0) * rowBytes + (<usize>from << 3);
    const width = <usize>(j1 - from) << 3;
    const aRow = A + (<usize>i * <usize>k << 3);
    for (let t = t0; t < t1; t++) {
      const a = load<f64>(aRow + (<usize>t << 3));
      if (a == 0) continue;
      const av = f64x2.splat(a);
      const bRow = BT + <usize>t * rowBytes + (<usize>from << 3);
      let j: usize = 0;
      for (; j + 32 <= width; j += 32) {
        v128.store(cRow + j, f64x2.add(v128.load(cRow + j), f64x2.mul(av, v128.load(bRow + j))));
        v128.store(cRow + j, f64x2.add(v128.load(cRow + j, 16), f64x2.mul(av, v128.load(bRow + j, 16))), 16);
      }
      for (; j < width; j += 16) {
        v128.store(cRow + j, f64x2.add(v128.load(cRow + j), f64x2.mul(av, v128.load(bRow + j))));
      }
    }
  }
}
