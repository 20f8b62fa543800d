/**
 * A memorization check: how close generated samples come to the training set, relative to how
 * close unseen real images (the test set) come to it.
 *
 *   nn_train_ratio = mean_s min_t ‖s − t‖ / mean_u min_t ‖u − t‖
 *
 * over samples s, test images u and training images t, with Euclidean distances in whatever
 * space the rows are given in (the classifier's features, or pixels). About 1: samples are as
 * far from the training set as new real data is; well below 1: samples sit on training
 * images (memorization); above 1: samples are farther from the data than real images are.
 */
import { UsageError } from "../../core/errors.ts";
import type { FeatureRows } from "./fid.ts";
import { forEachProductBlock, squaredNorms } from "./gram.ts";
import { DistanceScreen } from "./precision_recall.ts";

/**
 * Euclidean distance from every row of `query` to its nearest row of `reference`: the square
 * root of the smallest sequential sum Σ_t (q_t − r_t)², found by screening with dot products
 * from the SIMD kernel (gram.ts) and summing exactly only the rows within the rounding slack
 * of the nearest (see DistanceScreen in precision_recall.ts): the same value as a plain scan.
 */
export function nearestDistances(query: FeatureRows, reference: FeatureRows): Float64Array {
  if (query.dim !== reference.dim) {
    throw new Error(`nearest neighbours: widths differ (${query.dim} vs ${reference.dim})`);
  }
  if (reference.count < 1) throw new UsageError("nearest neighbours: empty reference set");
  const d = query.dim;
  const n = reference.count;
  const [qn, rn] = [squaredNorms(query), squaredNorms(reference)];
  const screen = new DistanceScreen(d);
  const out = new Float64Array(query.count);
  forEachProductBlock(query, reference, (i0, i1, products) => {
    for (let i = i0; i < i1; i++) {
      const row = (i - i0) * n;
      let bound = Infinity;
      for (let j = 0; j < n; j++) {
        const high = qn[i] + rn[j] - 2 * products[row + j] + screen.slack(qn[i], rn[j]);
        if (high < bound) bound = high;
      }
      let best = Infinity;
      for (let j = 0; j < n; j++) {
        const low = qn[i] + rn[j] - 2 * products[row + j] - screen.slack(qn[i], rn[j]);
        if (low > bound) continue;
        let sum = 0;
        for (let t = 0; t < d; t++) {
          const diff = query.features[i * d + t] - reference.features[j * d + t];
          sum += diff * diff;
        }
        if (sum < best) best = sum;
      }
      out[i] = Math.sqrt(best);
    }
  });
  return out;
}

/** The ratio of the mean nearest-training distances of samples and of test images. */
export function nnTrainRatio(
  samples: FeatureRows,
  test: FeatureRows,
  train: FeatureRows,
): { ratio: number; samples: number; test: number } {
  const mean = (values: Float64Array) => values.reduce((a, b) => a + b, 0) / values.length;
  if (samples.count < 1 || test.count < 1) {
    throw new UsageError("nn_train_ratio: needs at least one sample and one test image");
  }
  const sampleDistance = mean(nearestDistances(samples, train));
  const testDistance = mean(nearestDistances(test, train));
  if (testDistance === 0) {
    throw new UsageError("nn_train_ratio: every test image is also a training image");
  }
  return { ratio: sampleDistance / testDistance, samples: sampleDistance, test: testDistance };
}
