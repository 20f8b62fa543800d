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
import { bytesToGrey } from "../../metrics/features/classifier.ts";
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

/** The first `count` test rows in a model's input units scaled to [0, 1]. */
export function testRows(dataset: Dataset, kind: InputKind, count: number): Float32Array {
  const n = Math.min(count, dataset.test.count) * dimOf(dataset.shape);
  if (kind === "binary") return Float32Array.from(dataset.testBinary.subarray(0, n));
  return bytesToGrey(dataset.test.images.subarray(0, n));
}

/** Pretty JSON bytes for a run file. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
}
