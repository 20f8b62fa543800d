/**
 * A suite entry's training protocol beyond the model's options, for runs that follow a paper:
 * training on the static binarization (the fixed binarized file the NADE, MADE and PixelCNN
 * papers trained on) instead of fresh draws, a learning-rate schedule by epoch, and early
 * stopping with best-epoch selection on the VALIDATION split (never the test split). An entry
 * without `training` trains as before; with it, the protocol is part of the run's config and
 * identity.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Blob } from "../core/checkpoint.ts";
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import { Stream } from "../core/rng.ts";
import { inputBatch, type InputKind } from "../datasets/batch.ts";
import { binarize } from "../datasets/build.ts";
import { type Dataset, dimOf } from "../datasets/dataset.ts";
import type { GenerativeModel } from "../models/model.ts";

/**
 * Learning rate = the model's own rate × a factor by epoch (0-based). `stages`: stage i lasts
 * `epochs[i]` epochs at `factors[i]`, the last factor holding after the last stage (Burda et
 * al. 2015: 3^i epochs at 10^(−i/7), i = 0..7). `exponential`: gamma^epoch.
 */
export type Schedule =
  | { kind: "stages"; epochs: number[]; factors: number[] }
  | { kind: "exponential"; gamma: number };

export interface TrainingProtocol {
  /** `dynamic` (default): fresh Bernoulli draws per batch; `static`: one fixed draw. */
  binarization: "dynamic" | "static";
  schedule: Schedule | null;
  /**
   * Validation NLL after every epoch; training stops after `patience` epochs without a new best,
   * and the best epoch's weights are the ones evaluated.
   */
  earlyStopping: { patience: number } | null;
}

const KEYS = ["binarization", "schedule", "earlyStopping"];

/**
 * A protocol as written in a suite entry's `training` (or read back from run.json), checked and
 * in canonical key order, so that a run's identity compares as a string. Bad input: one
 * UsageError line starting with `where`.
 */
export function parseTrainingProtocol(raw: unknown, where: string): TrainingProtocol {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new UsageError(
      `${where}.${key}: expected ${expected} (got ${JSON.stringify(got)?.slice(0, 60)})`,
    );
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(raw)) return fail("", "an object {binarization, schedule, earlyStopping}", raw);
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) fail(key, `one of the keys ${KEYS.join(", ")}`, key);
  }
  const binarization = raw.binarization ?? "dynamic";
  if (binarization !== "dynamic" && binarization !== "static") {
    fail("binarization", `"dynamic" or "static"`, binarization);
  }
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  let schedule: Schedule | null = null;
  const s = raw.schedule ?? null;
  if (s !== null) {
    if (!isObject(s)) return fail("schedule", "an object {kind, ...} or null", s);
    if (s.kind === "stages") {
      const { epochs, factors } = s;
      const ok = Array.isArray(epochs) && Array.isArray(factors) && epochs.length > 0 &&
        epochs.length === factors.length &&
        epochs.every((e) => Number.isSafeInteger(e) && e >= 1) && factors.every(positive);
      if (!ok || Object.keys(s).length !== 3) {
        fail(
          "schedule",
          '{kind: "stages", epochs: [integers ≥ 1], factors: [numbers > 0, as many]}',
          s,
        );
      }
      schedule = { kind: "stages", epochs: epochs as number[], factors: factors as number[] };
    } else if (s.kind === "exponential") {
      if (!positive(s.gamma) || (s.gamma as number) > 1 || Object.keys(s).length !== 2) {
        fail("schedule", '{kind: "exponential", gamma: a number in (0, 1]}', s);
      }
      schedule = { kind: "exponential", gamma: s.gamma as number };
    } else {
      fail("schedule.kind", `"stages" or "exponential"`, s.kind);
    }
  }
  let earlyStopping: { patience: number } | null = null;
  const e = raw.earlyStopping ?? null;
  if (e !== null) {
    if (
      !isObject(e) || !Number.isSafeInteger(e.patience) || (e.patience as number) < 1 ||
      Object.keys(e).length !== 1
    ) {
      fail("earlyStopping", "{patience: an integer ≥ 1 (epochs)} or null", e);
    }
    earlyStopping = { patience: (e as { patience: number }).patience };
  }
  return {
    binarization: binarization as TrainingProtocol["binarization"],
    schedule,
    earlyStopping,
  };
}

/** The learning-rate factor of 0-based `epoch` under `schedule` (1 without one). */
export function learningRateFactor(schedule: Schedule | null, epoch: number): number {
  if (!schedule) return 1;
  if (schedule.kind === "exponential") return schedule.gamma ** epoch;
  let end = 0;
  for (let i = 0; i < schedule.epochs.length; i++) {
    end += schedule.epochs[i];
    if (epoch < end) return schedule.factors[i];
  }
  return schedule.factors[schedule.factors.length - 1];
}

/** tfjs optimizers keep their step size in a `learningRate` field read at every update. */
type WithRate = { learningRate: number };

/** Each optimizer's learning rate as the model created it (before any schedule). */
export function baseLearningRates(optimizers: tf.Optimizer[]): number[] {
  return optimizers.map((optimizer, i) => {
    const rate = (optimizer as unknown as WithRate).learningRate;
    if (typeof rate !== "number") {
      throw new Error(`optimizer ${i} (${optimizer.getClassName()}) has no learningRate field`);
    }
    return rate;
  });
}

/** Set every optimizer's learning rate to its base rate × `factor`. */
export function applyLearningRateFactor(
  optimizers: tf.Optimizer[],
  bases: number[],
  factor: number,
): void {
  optimizers.forEach((optimizer, i) => {
    (optimizer as unknown as WithRate).learningRate = bases[i] * factor;
  });
}

const staticTrainBits = new WeakMap<Uint8Array, Uint8Array>();

/**
 * The training images binarized once, like the test and validation splits: from the dataset's
 * fixed binarization seed, so every run and seed trains on the same bits.
 */
export function staticTrainingBinarization(dataset: Dataset): Uint8Array {
  let bits = staticTrainBits.get(dataset.train.images);
  if (!bits) {
    bits = binarize(
      dataset.train.images,
      Stream.derive(dataset.binarizationSeed, `${dataset.name}/binarize-train`),
    );
    staticTrainBits.set(dataset.train.images, bits);
  }
  return bits;
}

/** The validation curve of an early-stopped run, in its folder (one JSON line per epoch). */
export const VALIDATION_FILE = "validation.jsonl";

/** One validation point of an early-stopped run. */
export interface ValidationPoint {
  epoch: number;
  step: number;
  valid_nll: number;
}

/** Where best-epoch selection stands (saved in checkpoints, the best weights as blobs). */
export interface Selection {
  /** Every validation so far, in order. */
  history: ValidationPoint[];
  /** Index in `history` of the best (lowest) validation NLL, −1 before the first. */
  best: number;
  /** Epochs validated since the best one. */
  since: number;
}

export function newSelection(): Selection {
  return { history: [], best: -1, since: 0 };
}

/**
 * Record one validation point; `improved` when it is a strict new best (the caller keeps the
 * weights), `stop` when `patience` epochs have passed without one.
 */
export function selectEpoch(
  selection: Selection,
  point: ValidationPoint,
  patience: number,
): { improved: boolean; stop: boolean } {
  selection.history.push(point);
  const best = selection.history[selection.best];
  const improved = !best || point.valid_nll < best.valid_nll;
  if (improved) {
    selection.best = selection.history.length - 1;
    selection.since = 0;
  } else {
    selection.since++;
  }
  return { improved, stop: selection.since >= patience };
}

/** Mean −log p(x) in nats over the validation split (its static binarization for binary input). */
export async function validationNll(
  model: GenerativeModel,
  dataset: Dataset,
  kind: InputKind,
  batchSize = 500,
): Promise<number> {
  if (!model.logProb) throw new Error("early stopping needs a model with an exact likelihood");
  const { valid } = dataset;
  const dim = dimOf(dataset.shape);
  let total = 0;
  for (let start = 0; start < valid.count; start += batchSize) {
    const rows = Array.from(
      { length: Math.min(batchSize, valid.count - start) },
      (_, i) => start + i,
    );
    const x = inputBatch(valid.images, dataset.validBinary, dim, rows, kind, null);
    const logp = tf.tidy(() => tf.sum(model.logProb!(x)));
    total += (await logp.data())[0];
    tf.dispose([x, logp]);
  }
  return -total / valid.count;
}

/** The part of the runner's training state the protocol reads and updates. */
export interface ProtocolState {
  epoch: number;
  step: number;
  selection?: Selection;
  bestWeights?: Blob[];
}

/** What the training loop calls to follow a protocol (all no-ops without one). */
export interface ProtocolHooks {
  /** The static training binarization, or null for fresh draws. */
  binary: Uint8Array | null;
  /** Before each step: the learning rate of the current epoch. */
  beforeStep(): void;
  /**
   * After the last step of an epoch: validate, select, and write every validation so far to
   * `validation.jsonl` in the run's folder; true when training should stop.
   */
  afterEpoch(): Promise<boolean>;
  /** At the end of training: put the best epoch's weights into the model. */
  restoreBest(): void;
}

/** The hooks of `training` for one run (its model, its training dataset, its state). */
export function protocolHooks(
  training: TrainingProtocol | undefined,
  model: GenerativeModel,
  dataset: Dataset,
  kind: InputKind,
  state: ProtocolState,
  runDir: string,
): ProtocolHooks {
  const optimizers = model.optimizers();
  const bases = training?.schedule ? baseLearningRates(optimizers) : [];
  let factor: number | null = null;
  const stopping = training?.earlyStopping ?? null;
  if (stopping) state.selection ??= newSelection();
  return {
    binary: training?.binarization === "static" ? staticTrainingBinarization(dataset) : null,
    beforeStep() {
      if (!training?.schedule) return;
      const next = learningRateFactor(training.schedule, state.epoch);
      if (next !== factor) {
        applyLearningRateFactor(optimizers, bases, next);
        factor = next;
      }
    },
    async afterEpoch() {
      if (!stopping) return false;
      const point = {
        epoch: state.epoch + 1,
        step: state.step,
        valid_nll: await validationNll(model, dataset, kind),
      };
      const { improved, stop } = selectEpoch(state.selection!, point, stopping.patience);
      if (improved) state.bestWeights = await weightBlobs(model);
      const lines = state.selection!.history.map((p) => JSON.stringify(p) + "\n").join("");
      await writeFileAtomic(join(runDir, VALIDATION_FILE), lines);
      return stop;
    },
    restoreBest() {
      if (!stopping || !state.bestWeights?.length) return;
      const saved = new Map(state.bestWeights.map((blob) => [blob.name, blob]));
      for (const [name, variable] of model.weights()) {
        const blob = saved.get(`best/${name}`);
        if (!blob || blob.shape.join(",") !== variable.shape.join(",")) {
          throw new Error(`best weights lack "${name}" or have another shape`);
        }
        const value = tf.tensor(blob.data as Float32Array, blob.shape, variable.dtype);
        variable.assign(value);
        value.dispose();
      }
    },
  };
}

/** The model's weights as checkpoint blobs `best/NAME`. */
async function weightBlobs(model: GenerativeModel): Promise<Blob[]> {
  const blobs: Blob[] = [];
  for (const [name, variable] of model.weights()) {
    const data = (await variable.data()).slice() as Float32Array | Int32Array;
    blobs.push({
      name: `best/${name}`,
      dtype: variable.dtype === "int32" ? "int32" : "float32",
      shape: [...variable.shape],
      data,
    });
  }
  return blobs;
}
