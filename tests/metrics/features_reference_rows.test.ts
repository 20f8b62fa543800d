/**
 * Precision/recall and the memorization ratio use fewer reference (test) rows than there are;
 * those rows must be one seeded random subset, never the first n (on MNIST the first test images
 * are cleaner than the rest). Here the first half of the reference sits far from the samples and
 * the second half on them: the first n would give precision 0, a spread subset does not.
 */
import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import { testSubset } from "../../datasets/subset.ts";
import type { ExtractedFeatures } from "../../metrics/features/classifier.ts";
import { featureMetricsFrom } from "../../metrics/features/evaluate.ts";
import { precisionRecall } from "../../metrics/features/precision_recall.ts";

function rows(values: number[][]): ExtractedFeatures {
  const dim = values[0].length;
  return {
    count: values.length,
    dim,
    features: Float64Array.from(values.flat()),
    classes: 0,
    probs: new Float64Array(0),
    sha256: "test",
  };
}

Deno.test("feature metrics: precision/recall compare samples with a seeded spread of the test rows", () => {
  const noise = Stream.derive(7, "test");
  const near = () => [noise.uniform() - 0.5, noise.uniform() - 0.5];
  const reference = rows([
    ...Array.from({ length: 200 }, () => [100 + noise.uniform(), 100 + noise.uniform()]),
    ...Array.from({ length: 200 }, near),
  ]);
  const samples = rows(Array.from({ length: 100 }, near));
  const result = featureMetricsFrom(samples, reference, Stream.derive(1, "kid"), { prCount: 100 });
  const subset = testSubset(reference.count, 100, "precision-recall").rows;
  const picked = rows(
    Array.from(subset, (r) => [...reference.features.subarray(2 * r, 2 * r + 2)]),
  );
  const expected = precisionRecall(picked, samples, 3);
  assert.equal(result.metrics.precision.value, expected.precision);
  assert.equal(result.metrics.recall.value, expected.recall);
  // The first 100 rows are all far away: precision there is 0.
  assert.ok(result.metrics.precision.value > 0.2, `precision ${result.metrics.precision.value}`);
});
