import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import type { FeatureRows } from "../../metrics/features/fid.ts";
import { precisionRecall } from "../../metrics/features/precision_recall.ts";

const rows = (points: number[][]): FeatureRows => ({
  count: points.length,
  dim: points[0].length,
  features: Float64Array.from(points.flat()),
});

/** The definition, written the slow way: sorted distance lists, no early exits. */
function bruteForce(real: number[][], fake: number[][], k: number) {
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
  const radius = (set: number[][], p: number[]) =>
    set.map((q) => dist(p, q)).sort((a, b) => a - b)[k];
  const realRadii = real.map((p) => radius(real, p));
  const fakeRadii = fake.map((p) => radius(fake, p));
  const precision = fake.filter((g) => real.some((r, i) => dist(g, r) <= realRadii[i])).length /
    fake.length;
  const recall = real.filter((r) => fake.some((g, i) => dist(r, g) <= fakeRadii[i])).length /
    real.length;
  return { precision, recall };
}

Deno.test("precision/recall: a hand-checked 2-D case with k = 1", () => {
  // Real (0,0), (1,0): each one's nearest other point is at 1, so both radii are 1.
  // Fake (0.5,0) is within 0.5 of (0,0): inside; (3,0) is 2 from (1,0): outside → precision ½.
  // Fake radii are 2.5 (their distance); both real points are within 2.5 of (0.5,0) → recall 1.
  const result = precisionRecall(rows([[0, 0], [1, 0]]), rows([[0.5, 0], [3, 0]]), 1);
  assert.deepEqual(result, { precision: 0.5, recall: 1, k: 1 });
});

Deno.test("precision/recall: a point on a ball's boundary counts as inside", () => {
  // Real radius 1 (k = 1); the fake point (2,0) is exactly 1 from (1,0).
  const result = precisionRecall(rows([[0, 0], [1, 0]]), rows([[2, 0], [2, 5]]), 1);
  assert.equal(result.precision, 0.5);
});

Deno.test("precision/recall: 1/1 for identical sets", () => {
  const s = Stream.derive(1, "pr-identical");
  const points = Array.from({ length: 60 }, () => [s.normal(), s.normal(), s.normal()]);
  assert.deepEqual(precisionRecall(rows(points), rows(points)), { precision: 1, recall: 1, k: 3 });
});

Deno.test("precision/recall: generated samples covering half of the real modes", () => {
  // Real data: 4 tight clusters far apart; samples: 2 of those clusters, fully.
  const s = Stream.derive(1, "pr-modes");
  const centres = [[0, 0], [100, 0], [0, 100], [100, 100]];
  const cluster = (c: number[], n: number) =>
    Array.from({ length: n }, () => [c[0] + s.normal(), c[1] + s.normal()]);
  const real = centres.flatMap((c) => cluster(c, 50));
  const fake = [centres[0], centres[3]].flatMap((c) => cluster(c, 50));
  const result = precisionRecall(rows(real), rows(fake));
  assert.equal(result.precision, bruteForce(real, fake, 3).precision);
  assert.equal(result.recall, bruteForce(real, fake, 3).recall);
  // Every sample lies in a real mode; about half the real points lie in a sampled mode (a few
  // on a cluster's rim can fall outside the samples' k-NN balls).
  assert.ok(result.precision > 0.95, `precision ${result.precision}`);
  assert.ok(Math.abs(result.recall - 0.5) < 0.03, `recall ${result.recall}`);
});

Deno.test("precision/recall: equal to the brute-force definition on random overlapping sets", () => {
  const s = Stream.derive(1, "pr-random");
  for (const k of [1, 3, 5]) {
    const real = Array.from({ length: 80 }, () => [s.normal(), s.normal(), s.normal()]);
    const fake = Array.from({ length: 70 }, () => [0.7 + s.normal(), s.normal(), 1.3 * s.normal()]);
    const result = precisionRecall(rows(real), rows(fake), k);
    const expected = bruteForce(real, fake, k);
    assert.equal(result.precision, expected.precision, `k=${k}`);
    assert.equal(result.recall, expected.recall, `k=${k}`);
    assert.ok(result.precision < 1 && result.recall < 1);
  }
});

Deno.test("precision/recall: refuses sets with no k-th neighbour", () => {
  assert.throws(
    () => precisionRecall(rows([[0], [1], [2]]), rows([[0], [1], [2], [3]])),
    /3 points/,
  );
});

Deno.test("precision/recall: cached real radii follow the features' content, not the array", () => {
  const real = rows([[0, 0], [1, 0], [5, 5], [6, 5]]);
  const fake = rows([[0.5, 0], [5.5, 5], [9, 9]]);
  const first = precisionRecall(real, fake, 1);
  assert.deepEqual(precisionRecall(real, fake, 1), first);
  // Spread the real points apart in place: the radii must be recomputed.
  real.features.set([0, 0, 10, 0, 20, 0, 30, 0]);
  const real2 = [[0, 0], [10, 0], [20, 0], [30, 0]];
  const fake2 = [[0.5, 0], [5.5, 5], [9, 9]];
  assert.deepEqual(precisionRecall(real, fake, 1), { ...bruteForce(real2, fake2, 1), k: 1 });
  assert.notDeepEqual(precisionRecall(real, fake, 1), first);
});
