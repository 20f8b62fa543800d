/**
 * What every evaluation of a trained model is given, and the shape of an evaluation: a name,
 * the metrics it may produce, which models it applies to (by capability, family or the suite's
 * protocol, never by model name) and how it runs. The list itself is benchmarks/evaluations.ts.
 */
import type { Stream } from "../../core/rng.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { GenerativeModel, InputKind, ModelSpec } from "../../models/model.ts";
import type { MetricValue } from "../../metrics/metric.ts";
import { gatherRows } from "../../datasets/build.ts";
import { datasetTestSubset, greyRows, type TestSubset } from "../../datasets/subset.ts";
import type { RunConfig } from "../record.ts";
import type { Streams } from "../train_state.ts";

/** Writes one file of the run folder atomically. */
export type Save = (path: string, bytes: Uint8Array) => Promise<void>;

/** A trained model and everything an evaluation may read or write. */
export interface EvaluationContext {
  spec: ModelSpec;
  model: GenerativeModel;
  dataset: Dataset;
  /** The pixel representation the model was trained on. */
  kind: InputKind;
  /** The resolved protocol (counts, k, …) as recorded in run.json. */
  config: RunConfig;
  /** The run's streams; only the likelihood draws from `evaluation` itself. */
  streams: Streams;
  /**
   * The named child stream of one evaluation (a child of the evaluation stream taken after the
   * likelihood), so that adding an evaluation never changes the numbers of another.
   */
  noise(name: string): Stream;
  runDir: string;
  save: Save;
}

/** One evaluation: a new metric is one file with one of these plus one entry in the list. */
export interface Evaluation {
  name: string;
  /** The metrics it may produce (names of metrics/metric.ts). */
  metrics: readonly string[];
  /** Whether it runs for this model under this protocol. */
  appliesTo(context: EvaluationContext): boolean;
  run(context: EvaluationContext): Promise<Record<string, MetricValue>>;
}

/**
 * `count` test images in a model's input units scaled to [0, 1] (the static binarization for
 * binary models, grey levels otherwise), their labels, and which images: all of the test set,
 * or one seeded random subset shared by every model (datasets/subset.ts), never the first n.
 */
export function testImages(
  dataset: Dataset,
  kind: InputKind,
  count: number,
): { values: Float32Array; labels: Uint8Array; subset: TestSubset } {
  const subset = datasetTestSubset(dataset, count);
  const dim = dimOf(dataset.shape);
  const values = kind === "binary"
    ? Float32Array.from(gatherRows(dataset.testBinary, dim, subset.rows))
    : greyRows(dataset.test.images, dim, subset.rows);
  const labels = Uint8Array.from(subset.rows, (r) => dataset.test.labels[r]);
  return { values, labels, subset };
}

/** The images of {@link testImages}. */
export function testRows(dataset: Dataset, kind: InputKind, count: number): Float32Array {
  return testImages(dataset, kind, count).values;
}

/** The protocol fields of an average over a test subset: `n`, and its seed where it is one. */
export function subsetFields(subset: TestSubset): { n: number; subset_seed?: number } {
  return subset.seed === null ? { n: subset.n } : { n: subset.n, subset_seed: subset.seed };
}

/** Pretty JSON bytes for a run file. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
}
