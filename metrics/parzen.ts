/**
 * Parzen-window log-likelihood, the protocol of Goodfellow et al. 2014 (and Breuleux et al.
 * 2011) for models that can only sample: fit an isotropic Gaussian kernel density
 *   p̂(x) = (1/n) Σᵢ N(x; sᵢ, σ²I)
 * to n model samples sᵢ, choose σ from a grid by the mean log p̂ of validation images, and report
 * the mean log p̂ of test images (real-valued, pixel/255 in [0, 1]), in nats, higher is better
 * (Goodfellow et al.: 225 ± 2 for their GAN on MNIST, with 10,000 samples).
 *
 * Caveats (Theis et al. 2016, "A note on the evaluation of generative models"): the estimate
 * is poor in 784 dimensions — it needs far more samples than anyone draws, stays far from the
 * true log-likelihood even for simple models, can rank models opposite to their likelihood, and
 * rewards memorising training images. Report it only for comparison with the literature, with
 * kind `parzen`, never beside exact likelihoods as if they were comparable.
 *
 * The number depends on the protocol as much as on the model: with 1,000 kernel centres even
 * 1,000 real MNIST training images score only ~116 nats, far below the literature's 225 (10,000
 * samples). Two values are comparable only at equal sample and test counts on the same images;
 * {@link parzenMetrics} records them with the value, and {@link realParzenSamples} gives the
 * real-data ceiling under the same protocol.
 *
 * Everything is float64 on the host (distances, log-sum-exp), so the number does not depend on
 * the tfjs backend; distances to all samples are computed once per evaluated image and reused
 * for every σ of the grid.
 */

import { type Dataset, dimOf } from "../datasets/dataset.ts";
import { datasetSubset, greyRows, type TestSubset } from "../datasets/subset.ts";
import { type MetricValue, metricValue } from "./metric.ts";

/** Goodfellow et al.'s grid: 10 values log-spaced from 0.1 to 1. */
export const DEFAULT_SIGMAS: readonly number[] = Array.from(
  { length: 10 },
  (_, i) => Math.pow(10, -1 + i / 9),
);

/** Images as one row-major array of `count` rows of `dim` values. */
export interface ImageRows {
  values: ArrayLike<number>;
  count: number;
}

/** The result of {@link parzenLogLikelihood}. */
export interface ParzenResult {
  /** Mean log p̂(x) over the test images, nats (higher is better). */
  logLikelihood: number;
  /** Standard error of that mean (over test images). */
  standardError: number;
  /** The σ chosen on the validation images. */
  sigma: number;
  /** Mean validation log p̂ for every σ of the grid. */
  validation: { sigma: number; logLikelihood: number }[];
  /** Samples in the kernel density. */
  samples: number;
  /** Test images evaluated. */
  testCount: number;
}

/** Row `i` of `rows` as float64. */
function row(rows: ImageRows, i: number, dim: number, out: Float64Array): Float64Array {
  for (let d = 0; d < dim; d++) out[d] = rows.values[i * dim + d];
  return out;
}

/**
 * log p̂(x) for each image of `images` and each σ of `sigmas`: result[s][j] is the Parzen
 * log-density of image j under bandwidth sigmas[s]. Brute force over all samples, float64.
 */
export function parzenLogDensities(
  samples: ImageRows,
  images: ImageRows,
  dim: number,
  sigmas: readonly number[],
): Float64Array[] {
  if (samples.count < 1) throw new Error("parzen: need at least one sample");
  if (samples.values.length < samples.count * dim || images.values.length < images.count * dim) {
    throw new Error(`parzen: arrays shorter than their count × ${dim}`);
  }
  if (sigmas.some((s) => !(s > 0))) throw new Error("parzen: every σ must be positive");
  const n = samples.count;
  const centers = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) centers[i] = samples.values[i];
  const out = sigmas.map(() => new Float64Array(images.count));
  const x = new Float64Array(dim);
  const distances = new Float64Array(n);
  const logN = Math.log(n);
  for (let j = 0; j < images.count; j++) {
    row(images, j, dim, x);
    let nearest = Infinity;
    for (let i = 0; i < n; i++) {
      const base = i * dim;
      let sum = 0;
      for (let d = 0; d < dim; d++) {
        const diff = x[d] - centers[base + d];
        sum += diff * diff;
      }
      distances[i] = sum;
      if (sum < nearest) nearest = sum;
    }
    for (let s = 0; s < sigmas.length; s++) {
      const scale = 1 / (2 * sigmas[s] * sigmas[s]);
      // log Σ exp(−dᵢ/2σ²), shifted by the largest term (the nearest sample).
      let total = 0;
      for (let i = 0; i < n; i++) total += Math.exp(-(distances[i] - nearest) * scale);
      const logSum = -nearest * scale + Math.log(total);
      out[s][j] = logSum - logN - (dim / 2) * Math.log(2 * Math.PI * sigmas[s] * sigmas[s]);
    }
  }
  return out;
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The σ of `sigmas` with the highest mean validation log p̂, and every σ's score. */
export function selectSigma(
  samples: ImageRows,
  validation: ImageRows,
  dim: number,
  sigmas: readonly number[] = DEFAULT_SIGMAS,
): { sigma: number; scores: { sigma: number; logLikelihood: number }[] } {
  const densities = parzenLogDensities(samples, validation, dim, sigmas);
  const scores = sigmas.map((sigma, s) => ({ sigma, logLikelihood: mean(densities[s]) }));
  let best = scores[0];
  for (const score of scores) if (score.logLikelihood > best.logLikelihood) best = score;
  return { sigma: best.sigma, scores };
}

/**
 * The Parzen-window estimate of Goodfellow et al. 2014: σ chosen on `validation`, then the mean
 * log p̂ of `test` (images in [0, 1], `dim` values each) with its standard error.
 */
export function parzenLogLikelihood(
  samples: ImageRows,
  validation: ImageRows,
  test: ImageRows,
  dim: number,
  sigmas: readonly number[] = DEFAULT_SIGMAS,
): ParzenResult {
  const { sigma, scores } = selectSigma(samples, validation, dim, sigmas);
  const [values] = parzenLogDensities(samples, test, dim, [sigma]);
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) * (v - m);
  const standardError = values.length > 1
    ? Math.sqrt(squares / (values.length - 1) / values.length)
    : NaN;
  return {
    logLikelihood: m,
    standardError,
    sigma,
    validation: scores,
    samples: samples.count,
    testCount: test.count,
  };
}

/**
 * The images one Parzen evaluation scores, in grey levels pixel/255: `count` validation images
 * (for σ) and `count` test images, each one seeded random subset of its split (at most the
 * split's size). Every model of a suite and its real-data row read the same images.
 */
export interface ParzenImages {
  validation: ImageRows;
  test: ImageRows;
  /** Which test images: `n` of the test set and the subset's seed. */
  testSubset: TestSubset;
}

/** The validation and test images of the Parzen protocol at `count` samples. */
export function parzenImages(dataset: Dataset, count: number): ParzenImages {
  const dim = dimOf(dataset.shape);
  const valid = datasetSubset(dataset, "valid", count);
  const test = datasetSubset(dataset, "test", count);
  return {
    validation: { values: greyRows(dataset.valid.images, dim, valid.rows), count: valid.n },
    test: { values: greyRows(dataset.test.images, dim, test.rows), count: test.n },
    testSubset: test,
  };
}

/**
 * Real training images used as the kernel centres: a seeded subset of `count` of them, grey.
 * Scored like a model's samples, they give the ceiling of the Parzen estimate at that count.
 */
export function realParzenSamples(dataset: Dataset, count: number): ImageRows {
  const train = datasetSubset(dataset, "train", count);
  return {
    values: greyRows(dataset.train.images, dimOf(dataset.shape), train.rows),
    count: train.n,
  };
}

/**
 * The `metrics.json` values of a Parzen estimate: `parzen_ll` with its protocol (kernel
 * centres `samples`, test images `n` and their subset's seed, `sigma`, reference `test-grey`)
 * and `parzen_sigma`.
 */
export function parzenMetrics(
  result: ParzenResult,
  testSubset: TestSubset,
): Record<string, MetricValue> {
  const protocol = {
    samples: result.samples,
    n: result.testCount,
    ...(testSubset.seed !== null ? { subset_seed: testSubset.seed } : {}),
  };
  return {
    parzen_ll: metricValue("parzen_ll", result.logLikelihood, {
      kind: "parzen",
      ...protocol,
      sigma: result.sigma,
      reference: "test-grey",
    }),
    parzen_sigma: metricValue("parzen_sigma", result.sigma, protocol),
  };
}
