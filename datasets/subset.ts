/**
 * The test images a metric is computed on. The full test set, or — where a suite must subsample
 * — one seeded random subset, the same for every model and every run seed of the suite: never
 * the first N, which on MNIST are cleaner than the rest (the closed-form Bernoulli floor scores
 * 198.85 nats on the first 2,000 test images, 205.76 on all 10,000).
 */
import { Stream } from "../core/rng.ts";
import type { Dataset } from "./dataset.ts";

/** The seed of every test subset; fixed, so that all models and runs share one subset. */
export const TEST_SUBSET_SEED = 1;

/** Which test images were used: `n` of `of`, drawn with `seed` (null: all of them, in order). */
export interface TestSubset {
  /** Row indices into the test split, ascending. */
  rows: Uint32Array;
  n: number;
  /** Size of the whole test split. */
  of: number;
  /** The seed of the draw; null when `n` = `of` (the full set, nothing drawn). */
  seed: number | null;
}

/**
 * `count` rows of a test split of `total` images (all of them when `count` is null or ≥ total):
 * the first `count` of a seeded permutation, sorted. The subset of a smaller count is a prefix
 * of no larger one's draw order, so `count` = 2,000 is 2,000 images spread over the whole set.
 */
export function testSubset(
  total: number,
  count: number | null,
  name: string,
  seed = TEST_SUBSET_SEED,
): TestSubset {
  if (!Number.isInteger(total) || total < 1) {
    throw new Error(`testSubset: total must be a positive integer (got ${total})`);
  }
  if (count !== null && (!Number.isInteger(count) || count < 1)) {
    throw new Error(`testSubset: count must be a positive integer or null (got ${count})`);
  }
  if (count === null || count >= total) {
    return {
      rows: Uint32Array.from({ length: total }, (_, i) => i),
      n: total,
      of: total,
      seed: null,
    };
  }
  const order = Stream.derive(seed, `${name}/test-subset`).permutation(total);
  const rows = order.slice(0, count).sort();
  return { rows, n: count, of: total, seed };
}

/** The test subset of `count` images of a dataset (see {@link testSubset}). */
export function datasetTestSubset(dataset: Dataset, count: number | null): TestSubset {
  return testSubset(dataset.test.count, count, dataset.name);
}

/**
 * A seeded subset of `count` rows of a dataset's `split` (all rows when `count` is null or at
 * least the split's size), drawn like {@link testSubset}; one fixed draw per dataset and split.
 */
export function datasetSubset(
  dataset: Dataset,
  split: "train" | "valid" | "test",
  count: number | null,
): TestSubset {
  if (split === "test") return datasetTestSubset(dataset, count);
  return testSubset(dataset[split].count, count, `${dataset.name}/${split}`);
}

/** Rows `subset.rows` of an N×D byte matrix as grey values pixel/255 (float32). */
export function greyRows(images: Uint8Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const source = images.subarray(rows[i] * dim, (rows[i] + 1) * dim);
    for (let d = 0; d < dim; d++) out[i * dim + d] = source[d] / 255;
  }
  return out;
}
