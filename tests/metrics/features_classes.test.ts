import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import type { FeatureRows } from "../../metrics/features/fid.ts";
import {
  classEntropy,
  classHistogram,
  type ClassProbs,
  isScore,
  labelAccuracy,
} from "../../metrics/features/classes.ts";
import { nearestDistances, nnTrainRatio } from "../../metrics/features/memorization.ts";

/** n rows of one-hot vectors over c classes for the given classes. */
const oneHot = (labels: number[], c: number): ClassProbs => {
  const probs = new Float64Array(labels.length * c);
  labels.forEach((label, i) => (probs[i * c + label] = 1));
  return { count: labels.length, classes: c, probs };
};

Deno.test("IS: uniform p(y|x) scores 1; confident balanced classes score the class count", () => {
  const uniform: ClassProbs = { count: 100, classes: 10, probs: new Float64Array(1000).fill(0.1) };
  const flat = isScore(uniform);
  assert.ok(Math.abs(flat.mean - 1) < 1e-12 && flat.std < 1e-12, JSON.stringify(flat));
  // 10 splits of 10 samples, one of each class per split.
  const labels = Array.from({ length: 100 }, (_, i) => i % 10);
  const sharp = isScore(oneHot(labels, 10));
  assert.ok(Math.abs(sharp.mean - 10) < 1e-9 && sharp.std < 1e-9, JSON.stringify(sharp));
  // All samples one class, confidently: exp(KL(δ ‖ δ)) = 1.
  assert.ok(Math.abs(isScore(oneHot(new Array(100).fill(3), 10)).mean - 1) < 1e-12);
});

Deno.test("IS: a hand-worked two-class split", () => {
  // One split of two samples: p = (0.9, 0.1) and (0.1, 0.9); marginal (0.5, 0.5).
  // KL = 0.9 ln 1.8 + 0.1 ln 0.2 for each, so IS = exp(that).
  const p: ClassProbs = { count: 2, classes: 2, probs: Float64Array.from([0.9, 0.1, 0.1, 0.9]) };
  const expected = Math.exp(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2));
  assert.ok(Math.abs(isScore(p, 1).mean - expected) < 1e-12);
  assert.throws(() => isScore(p, 3), /2 samples cannot fill 3 splits/);
});

Deno.test("class entropy and label accuracy", () => {
  const balanced = oneHot(Array.from({ length: 50 }, (_, i) => i % 10), 10);
  assert.ok(Math.abs(classEntropy(balanced) - Math.log(10)) < 1e-12);
  assert.equal(classEntropy(oneHot([4, 4, 4], 10)), 0);
  // Two classes, 3:1 → −(¾ ln ¾ + ¼ ln ¼).
  const skewed = oneHot([1, 1, 1, 2], 10);
  assert.ok(
    Math.abs(classEntropy(skewed) + (0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))) < 1e-12,
  );
  assert.deepEqual(classHistogram(skewed), [0, 3, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(labelAccuracy(skewed, [1, 2, 1, 2]), 0.75);
  assert.throws(() => labelAccuracy(skewed, [1]), /1 labels for 4 samples/);
});

Deno.test("nn_train_ratio: 0 for copies of training images, ~1 for fresh draws, brute-force distances", () => {
  const s = Stream.derive(1, "memorization");
  const d = 5;
  const draw = (n: number): FeatureRows => {
    const features = new Float64Array(n * d);
    for (let i = 0; i < n * d; i++) features[i] = s.normal();
    return { count: n, dim: d, features };
  };
  const train = draw(400);
  const test = draw(100);
  const copies: FeatureRows = { count: 50, dim: d, features: train.features.slice(0, 50 * d) };
  assert.equal(nnTrainRatio(copies, test, train).ratio, 0);
  const fresh = nnTrainRatio(draw(100), test, train).ratio;
  assert.ok(fresh > 0.85 && fresh < 1.15, `fresh samples: ${fresh}`);
  // Samples spread wider than the data are farther from it than test images are.
  const wide = draw(100);
  wide.features.forEach((v, i) => (wide.features[i] = 3 * v));
  assert.ok(nnTrainRatio(wide, test, train).ratio > 1.5);
  const got = nearestDistances(test, train);
  for (let i = 0; i < test.count; i++) {
    let best = Infinity;
    for (let j = 0; j < train.count; j++) {
      let sum = 0;
      for (let t = 0; t < d; t++) {
        sum += (test.features[i * d + t] - train.features[j * d + t]) ** 2;
      }
      best = Math.min(best, Math.sqrt(sum));
    }
    assert.ok(Math.abs(got[i] - best) < 1e-12);
  }
});
