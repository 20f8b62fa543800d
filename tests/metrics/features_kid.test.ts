import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import type { FeatureRows } from "../../metrics/features/fid.ts";
import { kid, mmd2Unbiased } from "../../metrics/features/kid.ts";

function gaussian(n: number, d: number, shift: number, s: Stream): FeatureRows {
  const features = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) features[i] = shift + s.normal();
  return { count: n, dim: d, features };
}

Deno.test("KID: MMD² is exact on a hand-worked case", () => {
  // d = 1, k(a, b) = (ab + 1)³; X = {0, 1}, Y = {0, 2}.
  // Σ_{i≠j} k(x) = 2·k(0,1) = 2 → /(2·1) = 1; likewise for Y: 2·k(0,2) = 2 → 1.
  // Σ k(x, y) = k(0,0) + k(0,2) + k(1,0) + k(1,2) = 1 + 1 + 1 + 27 = 30 → 2·30/4 = 15.
  const x = Float64Array.from([0, 1]);
  const y = Float64Array.from([0, 2]);
  assert.equal(mmd2Unbiased(x, 2, y, 2, 1), 1 + 1 - 15);
});

Deno.test("KID: MMD² equals a brute-force Gram-matrix computation", () => {
  const s = Stream.derive(1, "kid-brute");
  const [m, n, d] = [7, 5, 3];
  const x = gaussian(m, d, 0, s).features;
  const y = gaussian(n, d, 0.3, s).features;
  const row = (a: Float64Array, i: number) => Array.from(a.subarray(i * d, (i + 1) * d));
  const k = (a: number[], b: number[]) => (a.reduce((t, v, i) => t + v * b[i], 0) / d + 1) ** 3;
  let xx = 0, yy = 0, xy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) if (i !== j) xx += k(row(x, i), row(x, j));
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) yy += k(row(y, i), row(y, j));
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) xy += k(row(x, i), row(y, j));
  }
  const expected = xx / (m * (m - 1)) + yy / (n * (n - 1)) - (2 * xy) / (m * n);
  const got = mmd2Unbiased(x, m, y, n, d);
  assert.ok(
    Math.abs(got - expected) <= 1e-12 * Math.abs(expected) + 1e-14,
    `${got} vs ${expected}`,
  );
});

Deno.test("KID: near 0 for one distribution, positive and separated for two", () => {
  const s = Stream.derive(1, "kid-stat");
  const d = 8;
  const a = gaussian(1000, d, 0, s);
  const b = gaussian(1000, d, 0, s);
  const c = gaussian(1000, d, 0.5, s);
  const options = { subsets: 20, subsetSize: 200 };
  const same = kid(a, b, Stream.derive(1, "kid-subsets"), options);
  const different = kid(a, c, Stream.derive(1, "kid-subsets"), options);
  assert.equal(same.subsetSize, 200);
  console.log(`same: ${same.mean} ± ${same.std}; different: ${different.mean} ± ${different.std}`);
  assert.ok(Math.abs(same.mean) < same.std, `same: ${same.mean} ± ${same.std}`);
  assert.ok(different.mean > 5 * different.std, `different: ${different.mean} ± ${different.std}`);
  assert.ok(different.mean > 10 * Math.abs(same.mean));
  // The same stream gives the same subsets, hence the same number.
  assert.deepEqual(kid(a, c, Stream.derive(1, "kid-subsets"), options), different);
});

Deno.test("KID: refuses subsets larger than a set", () => {
  const s = Stream.derive(1, "kid-small");
  assert.throws(
    () => kid(gaussian(50, 2, 0, s), gaussian(40, 2, 0, s), s, { subsetSize: 45 }),
    /subsets of 45 need at least that many samples/,
  );
  // The default subset size shrinks to the smaller set.
  assert.equal(kid(gaussian(50, 2, 0, s), gaussian(40, 2, 0, s), s, { subsets: 2 }).subsetSize, 40);
});
