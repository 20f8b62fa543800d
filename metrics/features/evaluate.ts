/**
 * All feature-based metrics of one set of generated samples against the reference (test)
 * images, in one call, as `metrics.json` values. Every number is tied to the extractor's
 * sha256, which the result carries for the run's provenance.
 */
import { UsageError } from "../../core/errors.ts";
import type { Stream } from "../../core/rng.ts";
import { type MetricValue, metricValue } from "../metric.ts";
import { type ExtractedFeatures, extractFeatures, type FeatureExtractor } from "./classifier.ts";
import { fid } from "./fid.ts";
import { kid } from "./kid.ts";
import { precisionRecall } from "./precision_recall.ts";
import { classEntropy, isScore, labelAccuracy } from "./classes.ts";
import { nnTrainRatio } from "./memorization.ts";
import { gatherRows } from "../../datasets/build.ts";
import { testSubset } from "../../datasets/subset.ts";

/** Settings of the feature-based metrics; every default is the published protocol's. */
export interface FeatureMetricOptions {
  /** KID: number of subsets (100) and rows per subset (min(1000, counts)). */
  kidSubsets?: number;
  kidSubsetSize?: number;
  /** Precision/recall: k of the k-th neighbour radii (3). */
  k?: number;
  /**
   * Precision/recall: rows of each set used (default: the smaller count, so both manifolds are
   * estimated at the same density; the cost is quadratic).
   */
  prCount?: number;
  /** IS-style score: number of splits (10). */
  isSplits?: number;
  /** nn_train_ratio: samples and test images used (1,000 each) … */
  nnCount?: number;
  /** … against this many training images (the first 10,000 given). */
  nnTrainCount?: number;
}

/** The metrics and what they were computed with. */
export interface FeatureMetricsResult {
  metrics: Record<string, MetricValue>;
  /** The feature extractor: `lenet`, `pixels` or a path, and its sha256. */
  extractor: { name: string; sha256: string };
  /** Rows used: samples and reference images. */
  counts: { samples: number; reference: number; train: number };
  /** One line per metric that was not computed, and why (e.g. too few samples for FID). */
  skipped: string[];
}

/**
 * `count` reference (test) rows: all of them, or one seeded random subset named by `use` —
 * never the first `count`, which on MNIST are cleaner than the rest. Samples are i.i.d. draws,
 * so {@link head} serves for them.
 */
function spread(rows: ExtractedFeatures, count: number, use: string): ExtractedFeatures {
  if (count >= rows.count) return rows;
  const picked = testSubset(rows.count, count, use).rows;
  return {
    ...rows,
    count: picked.length,
    features: gatherRows(rows.features, rows.dim, picked),
    probs: gatherRows(rows.probs, rows.classes, picked),
  };
}

function head(rows: ExtractedFeatures, count: number): ExtractedFeatures {
  const n = Math.min(count, rows.count);
  return {
    ...rows,
    count: n,
    features: rows.features.subarray(0, n * rows.dim),
    probs: rows.probs.subarray(0, n * rows.classes),
  };
}

/**
 * The feature-based metrics from already extracted features (so a runner can extract the
 * test set's features once and reuse them). `stream` draws KID's subsets. `labels` are the
 * conditioning labels of conditional samples (adds `label_accuracy`); `train` adds
 * `nn_train_ratio`.
 */
export function featureMetricsFrom(
  samples: ExtractedFeatures,
  reference: ExtractedFeatures,
  stream: Stream,
  options: FeatureMetricOptions = {},
  extra: { train?: ExtractedFeatures; labels?: ArrayLike<number>; extractorName?: string } = {},
): FeatureMetricsResult {
  if (
    samples.sha256 !== reference.sha256 || (extra.train && extra.train.sha256 !== samples.sha256)
  ) {
    throw new Error("feature metrics: the feature sets come from different extractors");
  }
  const metrics: Record<string, MetricValue> = {};
  const skipped: string[] = [];
  const attempt = (name: string, compute: () => void) => {
    try {
      compute();
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      skipped.push(`${name}: ${error.message}`);
    }
  };
  attempt("fid", () => {
    metrics.fid = metricValue("fid", fid(samples, reference));
  });
  attempt("kid", () => {
    const result = kid(samples, reference, stream.child("kid"), {
      subsets: options.kidSubsets,
      subsetSize: options.kidSubsetSize,
    });
    metrics.kid = metricValue("kid", result.mean);
    metrics.kid_std = metricValue("kid_std", result.std);
  });
  attempt("precision/recall", () => {
    // Equal counts by default: each set's radii depend on its density.
    const count = options.prCount ?? Math.min(samples.count, reference.count);
    const pr = precisionRecall(
      spread(reference, count, "precision-recall"),
      head(samples, count),
      options.k ?? 3,
    );
    metrics.precision = metricValue("precision", pr.precision);
    metrics.recall = metricValue("recall", pr.recall);
  });
  if (samples.classes > 0) {
    attempt("is_score", () => {
      const is = isScore(samples, options.isSplits ?? 10);
      metrics.is_score = metricValue("is_score", is.mean);
      metrics.is_score_std = metricValue("is_score_std", is.std);
    });
    attempt("class_entropy", () => {
      metrics.class_entropy = metricValue("class_entropy", classEntropy(samples));
    });
    if (extra.labels) {
      metrics.label_accuracy = metricValue("label_accuracy", labelAccuracy(samples, extra.labels));
    }
  } else {
    skipped.push("is_score, class_entropy, label_accuracy: the extractor has no classifier");
  }
  let trainCount = 0;
  if (extra.train) {
    const train = head(extra.train, options.nnTrainCount ?? 10_000);
    trainCount = train.count;
    attempt("nn_train_ratio", () => {
      const n = options.nnCount ?? 1000;
      const result = nnTrainRatio(head(samples, n), spread(reference, n, "nn-train-ratio"), train);
      metrics.nn_train_ratio = metricValue("nn_train_ratio", result.ratio);
    });
  }
  return {
    metrics,
    extractor: { name: extra.extractorName ?? "", sha256: samples.sha256 },
    counts: { samples: samples.count, reference: reference.count, train: trainCount },
    skipped,
  };
}

/**
 * Extract features of samples, reference and (optionally) training images, all [n × H·W]
 * grey values in [0, 1], and compute every feature-based metric.
 */
export async function featureMetrics(
  extractor: FeatureExtractor,
  images: {
    samples: Float32Array;
    sampleCount: number;
    reference: Float32Array;
    referenceCount: number;
    train?: Float32Array;
    trainCount?: number;
    labels?: ArrayLike<number>;
  },
  stream: Stream,
  options: FeatureMetricOptions = {},
): Promise<FeatureMetricsResult> {
  const samples = await extractFeatures(extractor, images.samples, images.sampleCount);
  const reference = await extractFeatures(extractor, images.reference, images.referenceCount);
  let train: ExtractedFeatures | undefined;
  if (images.train && images.trainCount) {
    const n = Math.min(images.trainCount, options.nnTrainCount ?? 10_000);
    const d = extractor.height * extractor.width;
    train = await extractFeatures(extractor, images.train.subarray(0, n * d), n);
  }
  return featureMetricsFrom(samples, reference, stream, options, {
    train,
    labels: images.labels,
    extractorName: extractor.name,
  });
}
