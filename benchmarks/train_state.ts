/**
 * Where training stands, and its checkpoint: the run's random streams, the data order (the
 * current epoch's permutation and the position in it), the step, the training seconds and the
 * learning curves, saved beside the model's weights and optimizer state in `checkpoint.bin` and
 * checked field by field when read back, so that a resumed run continues exactly.
 */
import { join } from "node:path";
import { Stream, type StreamState } from "../core/rng.ts";
import { type Refusal, refusalFor } from "../core/errors.ts";
import {
  type Blob,
  captureModel,
  encodeCheckpoint,
  type TrainingCheckpoint,
} from "../core/checkpoint.ts";
import type { Dataset } from "../datasets/dataset.ts";
import type { GenerativeModel } from "../models/model.ts";
import { RUN_FILES, saveRunFile } from "./record.ts";
import type { RunPlan } from "./suites.ts";
import type { Selection } from "./protocol.ts";

/** The run's streams that live through training; `init` is used once, at creation. */
export const STREAM_NAMES = ["data", "binarize", "train", "evaluation", "sample"] as const;
export type Streams = Record<(typeof STREAM_NAMES)[number], Stream>;

/** Every stream name a run records in `run.json`. */
export const RECORDED_STREAMS = [...STREAM_NAMES, "init"];

/** The streams of a new run: each derived from the seed by name, independent of the others. */
export function freshStreams(seed: number): Streams {
  return {
    data: Stream.derive(seed, "data-order"),
    binarize: Stream.derive(seed, "train-binarization"),
    train: Stream.derive(seed, "train-noise"),
    evaluation: Stream.derive(seed, "eval-noise"),
    sample: Stream.derive(seed, "sample"),
  };
}

/**
 * The model of a plan, initialised from the run's `init` stream (and from the training split,
 * for a model fitted in closed form).
 */
export function createModel(plan: RunPlan, dataset: Dataset): GenerativeModel {
  const { train } = trainingDataset(plan, dataset);
  return plan.spec.create({
    shape: dataset.shape,
    options: plan.options,
    init: Stream.derive(plan.seed, "init"),
    train: { images: train.images, labels: train.labels, count: train.count },
  });
}

const derivedSplits = new WeakMap<Dataset, Map<string, Dataset>>();

/**
 * The dataset as the plan's model trains on it: its training split replaced by the model's
 * `trainingSplit` where it has one (derived once per dataset, model and options). Evaluation
 * always uses the dataset itself.
 */
export function trainingDataset(plan: RunPlan, dataset: Dataset): Dataset {
  const derive = plan.spec.trainingSplit;
  if (!derive) return dataset;
  const key = `${plan.spec.name} ${JSON.stringify(plan.options)}`;
  const cache = derivedSplits.get(dataset) ?? new Map<string, Dataset>();
  derivedSplits.set(dataset, cache);
  let derived = cache.get(key);
  if (!derived) {
    derived = { ...dataset, train: derive(dataset.train, dataset.shape, plan.options) };
    cache.set(key, derived);
  }
  return derived;
}

/** The batch size a plan trains at (a tiny dataset caps it). */
export function batchSizeOf(plan: RunPlan, dataset: Dataset): number {
  return Math.min(Number(plan.options.batchSize), dataset.train.count);
}

/** Where training stands; saved in every checkpoint. */
export interface TrainState {
  identity: string;
  /** Steps done. */
  step: number;
  epoch: number;
  /** Position in the current epoch's permutation `order`. */
  cursor: number;
  order: Uint32Array;
  /** Training seconds so far, over all sessions (checkpoint writing excluded). */
  seconds: number;
  curves: string[];
  streams: Streams;
  /** Best-epoch selection on the validation split, under early stopping (protocol.ts). */
  selection?: Selection;
  /** The best epoch's weights so far (checkpoint blobs `best/NAME`), under early stopping. */
  bestWeights?: Blob[];
}

/** The state of a run that has not trained yet. */
export function initialState(identity: string, seed: number, dataset: Dataset): TrainState {
  const streams = freshStreams(seed);
  return {
    identity,
    step: 0,
    epoch: 0,
    cursor: 0,
    order: streams.data.permutation(dataset.train.count),
    seconds: 0,
    curves: [],
    streams,
  };
}

/** The part of {@link TrainState} in a checkpoint's metadata (the order is a blob). */
interface SavedState {
  identity: string;
  step: number;
  epoch: number;
  cursor: number;
  seconds: number;
  curves: string[];
  streams: Record<string, StreamState>;
  selection?: Selection;
}

function stateOf(checkpoint: TrainingCheckpoint): SavedState {
  return checkpoint.meta.run as unknown as SavedState;
}

/** The step a checkpoint was taken at. */
export function checkpointStep(checkpoint: TrainingCheckpoint): number {
  return stateOf(checkpoint).step;
}

const isStreamState = (s: unknown): s is StreamState =>
  typeof s === "object" && s !== null && Array.isArray((s as StreamState).generator) &&
  (s as StreamState).generator.length === 4 &&
  (s as StreamState).generator.every((n) => Number.isInteger(n)) &&
  ((s as StreamState).spareNormal === null || typeof (s as StreamState).spareNormal === "number");

/** Check the runner's part of a checkpoint: its run, step, streams, data order and curves. */
export function checkRunState(
  checkpoint: TrainingCheckpoint,
  plan: RunPlan,
  dataset: Dataset,
  identity: string,
  source: string,
): void {
  const fail: Refusal = refusalFor(source);
  const s = stateOf(checkpoint);
  if (s.identity !== identity) {
    fail("checkpoint belongs to a different run (config, data or backend)");
  }
  const count = dataset.train.count;
  const batch = batchSizeOf(plan, dataset);
  // Under a seconds budget the step count is open; the training time bounds it instead.
  const maxStep = plan.steps ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(s.step) || s.step < 1 || s.step > maxStep) {
    fail(`checkpoint step ${s.step} is outside 1..${plan.steps ?? "∞"}`);
  }
  if (!Number.isInteger(s.epoch) || s.epoch < 0) fail(`checkpoint epoch ${s.epoch} is invalid`);
  if (!Number.isInteger(s.cursor) || s.cursor < batch || s.cursor > count) {
    fail(`checkpoint data cursor ${s.cursor} is outside ${batch}..${count}`);
  }
  if (typeof s.seconds !== "number" || !(s.seconds >= 0)) fail("checkpoint has no training time");
  if (!Array.isArray(s.curves) || !s.curves.every((line) => typeof line === "string")) {
    fail("checkpoint curves are not a list of lines");
  }
  for (const name of STREAM_NAMES) {
    if (!isStreamState(s.streams?.[name])) fail(`checkpoint lacks the state of stream "${name}"`);
  }
  const order = checkpoint.blobs.get("run/order");
  if (order?.dtype !== "uint32" || order.data.length !== count) {
    fail(`checkpoint data order is missing or not a permutation of ${count} images`);
  }
  const seen = new Uint8Array(count);
  for (const row of order!.data) {
    if (row >= count || seen[row]) fail(`checkpoint data order is not a permutation of ${count}`);
    seen[row] = 1;
  }
}

/** The training state saved in a checkpoint (checked by {@link checkRunState}). */
export function restoreState(checkpoint: TrainingCheckpoint): TrainState {
  const s = stateOf(checkpoint);
  const streams = Object.fromEntries(
    STREAM_NAMES.map((name) => [name, Stream.fromState(s.streams[name])]),
  ) as Streams;
  const order = checkpoint.blobs.get("run/order")!.data as Uint32Array;
  const bestWeights = [...checkpoint.blobs.values()].filter((b) => b.name.startsWith("best/"));
  return {
    ...s,
    order: order.slice(),
    curves: [...s.curves],
    streams,
    ...(s.selection ? { selection: structuredClone(s.selection), bestWeights } : {}),
  };
}

/** Write the curves so far and a checkpoint of the model and the training state into `dir`. */
export async function writeCheckpoint(
  dir: string,
  model: GenerativeModel,
  state: TrainState,
): Promise<void> {
  const { blobs, optimizers } = await captureModel(model);
  blobs.push({
    name: "run/order",
    dtype: "uint32",
    shape: [state.order.length],
    data: state.order,
  });
  blobs.push(...(state.bestWeights ?? []));
  const run: SavedState = {
    identity: state.identity,
    step: state.step,
    epoch: state.epoch,
    cursor: state.cursor,
    seconds: state.seconds,
    curves: state.curves,
    streams: Object.fromEntries(STREAM_NAMES.map((name) => [name, state.streams[name].state()])),
    ...(state.selection ? { selection: state.selection } : {}),
  };
  await saveRunFile(join(dir, RUN_FILES.curves), state.curves.join(""));
  await saveRunFile(
    join(dir, RUN_FILES.checkpoint),
    encodeCheckpoint({ run: run as unknown as Record<string, unknown>, optimizers }, blobs),
  );
}
