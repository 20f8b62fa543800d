import assert from "node:assert/strict";
import { TEST_SUBSET_SEED, testSubset } from "../../datasets/subset.ts";

Deno.test("testSubset: all rows in order for null or n ≥ total, with no seed", () => {
  for (const count of [null, 10, 11]) {
    const all = testSubset(10, count, "mnist");
    assert.deepEqual(Array.from(all.rows), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([all.n, all.of, all.seed], [10, 10, null]);
  }
});

Deno.test("testSubset: n distinct sorted rows spread over the set, the same every call", () => {
  const a = testSubset(10_000, 2_000, "mnist");
  const b = testSubset(10_000, 2_000, "mnist");
  assert.deepEqual(a.rows, b.rows);
  assert.deepEqual([a.n, a.of, a.seed], [2_000, 10_000, TEST_SUBSET_SEED]);
  const rows = Array.from(a.rows);
  assert.equal(new Set(rows).size, 2_000);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i] > rows[i - 1]);
  assert.ok(rows[0] >= 0 && rows[rows.length - 1] < 10_000);
  // Spread: about a fifth of each half of the set, not the first 2,000.
  const firstHalf = rows.filter((r) => r < 5_000).length;
  assert.ok(firstHalf > 900 && firstHalf < 1_100, `${firstHalf} of 2,000 in the first half`);
  assert.notDeepEqual(testSubset(10_000, 2_000, "fashion").rows, a.rows);
});

Deno.test("testSubset: bad counts are one clear error", () => {
  assert.throws(() => testSubset(10, 0, "x"), /count must be a positive integer or null \(got 0\)/);
  assert.throws(() => testSubset(0, 5, "x"), /total must be a positive integer/);
  assert.throws(() => testSubset(10, 2.5, "x"), /got 2.5/);
});
