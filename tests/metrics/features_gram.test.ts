import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import { forEachProductBlock, rowProducts, squaredNorms } from "../../metrics/features/gram.ts";

/** `count` rows of `dim` features, about half of them exactly zero (the kernel skips those). */
function sparseRows(count: number, dim: number, seed: number) {
  const s = Stream.derive(seed, "gram");
  const features = Float64Array.from(
    { length: count * dim },
    () => s.uniform() < 0.5 ? 0 : s.normal(),
  );
  return { count, dim, features };
}

function sequentialDot(a: Float64Array, i: number, b: Float64Array, j: number, d: number) {
  let sum = 0;
  for (let t = 0; t < d; t++) sum += a[i * d + t] * b[j * d + t];
  return sum;
}

Deno.test("gram: every product is bit-identical to the sequential scalar loop", () => {
  // 301 columns: odd (padded) and more than two column blocks; 37 features.
  const a = sparseRows(45, 37, 1);
  const b = sparseRows(301, 37, 2);
  const products = rowProducts(a, b);
  for (let i = 0; i < a.count; i++) {
    for (let j = 0; j < b.count; j++) {
      assert.equal(products[i * b.count + j], sequentialDot(a.features, i, b.features, j, 37));
    }
  }
  const norms = squaredNorms(a);
  for (let i = 0; i < a.count; i++) {
    assert.equal(norms[i], sequentialDot(a.features, i, a.features, i, 37));
  }
});

Deno.test("gram: upper-triangle products and row blocks give the same entries", () => {
  const a = sparseRows(53, 20, 3);
  const full = rowProducts(a, a);
  const upper = rowProducts(a, a, true);
  for (let i = 0; i < a.count; i++) {
    for (let j = i; j < a.count; j++) assert.equal(upper[i * 53 + j], full[i * 53 + j]);
  }
  let rows = 0;
  forEachProductBlock(a, a, (i0, i1, block) => {
    assert.ok(i1 - i0 <= 8);
    for (let r = 0; r < (i1 - i0) * 53; r++) assert.equal(block[r], full[i0 * 53 + r]);
    rows += i1 - i0;
  }, { rows: 8 });
  assert.equal(rows, 53);
});
