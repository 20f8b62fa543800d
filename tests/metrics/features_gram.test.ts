import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import { forEachProductBlock, rowProducts, squaredNorms } from "../../metrics/features/gram.ts";
import { nearestDistances } from "../../metrics/features/memorization.ts";
import { coverage, kthNeighbourRadii } from "../../metrics/features/precision_recall.ts";

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

Deno.test("screened distances equal plain sequential scans, ties and duplicates included", () => {
  // Pixel-like rows (many exact zeros, repeated values) with duplicated rows: exact ties at
  // distance 0 and at equal radii, where the fast Gram-based value is only within the slack.
  const s = Stream.derive(5, "screen");
  const base = Array.from(
    { length: 40 },
    () =>
      Array.from(
        { length: 30 },
        () => (s.uniform() < 0.6 ? 0 : Math.round(s.uniform() * 255) / 255),
      ),
  );
  const rowsOf = (list: number[][]) => ({
    count: list.length,
    dim: 30,
    features: Float64Array.from(list.flat()),
  });
  const real = rowsOf([...base, ...base.slice(0, 10)]);
  const fake = rowsOf([...base.slice(5, 35), ...base.slice(0, 5)]);
  const d2 = (a: Float64Array, i: number, b: Float64Array, j: number) => {
    let sum = 0;
    for (let t = 0; t < 30; t++) sum += (a[i * 30 + t] - b[j * 30 + t]) ** 2;
    return sum;
  };
  const k = 3;
  const radii = kthNeighbourRadii(real, k);
  for (let i = 0; i < real.count; i++) {
    const all = Array.from(
      { length: real.count },
      (_, j) => d2(real.features, i, real.features, j),
    );
    assert.equal(radii[i], all.sort((a, b) => a - b)[k]);
  }
  const near = nearestDistances(fake, real);
  for (let i = 0; i < fake.count; i++) {
    let best = Infinity;
    for (let j = 0; j < real.count; j++) {
      best = Math.min(best, d2(fake.features, i, real.features, j));
    }
    assert.equal(near[i], Math.sqrt(best));
  }
  const inside = Array.from(
    { length: fake.count },
    (_, i) =>
      Array.from({ length: real.count }, (_, j) => j).some((j) =>
        d2(fake.features, i, real.features, j) <= radii[j]
      ),
  ).filter(Boolean).length;
  assert.equal(coverage(fake, real, radii), inside / fake.count);
});
