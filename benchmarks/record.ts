/**
 * The run record: the files of a run folder `<out>/runs/<run-id>/`, their types, and their
 * validation when read back. The runner writes through this module; resume, collect and check
 * read through it. Every malformed field is one line naming the file, the key and what was
 * expected (a {@link UsageError}); nothing read is ever evaluated.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { MAX_BYTES, readTextFileLimited, writeFileAtomic } from "../core/files.ts";
import type { Provenance } from "../core/provenance.ts";
import { MAX_SEED } from "../core/rng.ts";
import type { InputKind, ModelOptions } from "../models/model.ts";
import type { LikelihoodKind, MetricValue } from "../metrics/metric.ts";
import { parseTrainingProtocol, type TrainingProtocol } from "./protocol.ts";

/** The files of a run folder. */
export const RUN_FILES = {
  /** Provenance, resolved config and status ({@link RunRecord}); written first, updated last. */
  record: "run.json",
  /** The metric values ({@link MetricsFile}); partial for an interrupted run. */
  metrics: "metrics.json",
  /** One JSON line per logged training step. */
  curves: "curves.jsonl",
  /** The trained weights. */
  weights: "weights.bin",
  /** Everything needed to continue exactly; exists only while the run is unfinished. */
  checkpoint: "checkpoint.bin",
  /** A grid of samples. */
  samples: "samples.png",
  /** The feature extractor's identity and what was skipped. */
  features: "features.json",
  /** The scored samples as an IDX file (for `deno task score`). */
  sampleIdx: "samples.idx",
  /** KL per latent dimension. */
  latent: "latent.json",
} as const;

/** Where a run stands. `running` only in `run.json`: the run is going on, or was killed. */
export type RunStatus = "running" | "finished" | "diverged" | "interrupted";

/** The status of a run that stopped: `metrics.json`'s, and a collected run's. */
export type EndStatus = Exclude<RunStatus, "running">;

export const RUN_STATUSES: readonly RunStatus[] = [
  "running",
  "finished",
  "diverged",
  "interrupted",
];
export const END_STATUSES: readonly EndStatus[] = ["finished", "diverged", "interrupted"];
const INPUT_KINDS: readonly InputKind[] = ["binary", "grey", "byte"];
const KINDS: readonly LikelihoodKind[] = ["exact", "elbo", "iwae-k", "ais", "parzen"];

/**
 * A training budget shared by every model of a run (`--budget`): the same number of training
 * images (each model's steps = ⌈images / batch size⌉), or the same training wall time.
 */
export type Budget = { images: number } | { seconds: number };

/** What a run was asked to do, resolved (part of its identity: `--resume` keys on it). */
export interface RunConfig {
  /** Training steps; `null` under a `seconds` budget (the run trains until the time is up). */
  steps: number | null;
  input: InputKind;
  /** The model's options, resolved: defaults, then the suite entry, then `--set`. */
  options: ModelOptions;
  /** The `--budget` the steps were derived from, if any. */
  budget: Budget | null;
  eval_count: number;
  iwae_k: number;
  sample_count: number;
  feature_samples: number;
  kid_subsets: number;
  parzen_samples: number;
  recon_count: number;
  ais_count: number;
  /** The entry's training protocol (benchmarks/protocol.ts); absent when it has none. */
  training?: TrainingProtocol;
}

/** One continuation with `--resume`: when, and under which genbench commit. */
export interface ResumedSession {
  at: string;
  genbench_commit: string;
  genbench_dirty: boolean | null;
}

/** The `run.json` of a run. */
export interface RunRecord {
  run_id: string;
  status: RunStatus;
  suite: string;
  model: string;
  family: string;
  variant: string | null;
  seed: number;
  /** The names of the run's random streams. */
  streams: string[];
  config: RunConfig;
  provenance: Provenance;
  started_at: string;
  resumed?: ResumedSession[];
  /** Training steps done so far. */
  steps_done?: number;
  /** Training images seen so far (steps × batch size). */
  images_done?: number;
  finished_at: string | null;
  /** Wall time over all sessions of the run. */
  wall_seconds: number | null;
}

/** The `metrics.json` of a run. */
export interface MetricsFile {
  model: string;
  variant: string | null;
  dataset: string;
  seed: number;
  backend: string;
  suite: string;
  run_id: string;
  /** `interrupted`: a partial record (no test metrics); `--resume` finishes the run. */
  status: EndStatus;
  metrics: Record<string, MetricValue>;
}

/** One logged training step from `curves.jsonl`: `step` plus named numbers (null = not finite). */
export interface CurvePoint {
  step: number;
  values: Record<string, number | null>;
}

type Json = Record<string, unknown>;

/** Field checks that fail with one line naming the file, the key and what was expected. */
export class FieldChecker {
  constructor(readonly file: string) {}

  fail(what: string): never {
    throw new UsageError(`${this.file}: malformed: ${what}`);
  }

  parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      this.fail(`not JSON (${(error as Error).message.split("\n")[0]})`);
    }
  }

  object(value: unknown, where: string): Json {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(`${where} should be an object`);
    }
    return value as Json;
  }

  string(obj: Json, key: string, where = key): string {
    const value = obj[key];
    if (typeof value !== "string") this.fail(`"${where}" should be a string`);
    return value;
  }

  /** A string or null; `required`: the key must be present. */
  optionalString(obj: Json, key: string, where = key, required = false): string | null {
    const value = obj[key];
    if (value === undefined && !required) return null;
    if (value !== null && typeof value !== "string") {
      this.fail(`"${where}" should be a string or null`);
    }
    return value as string | null;
  }

  boolean(obj: Json, key: string, where = key): boolean {
    if (typeof obj[key] !== "boolean") this.fail(`"${where}" should be true or false`);
    return obj[key] as boolean;
  }

  /** A number; JSON `null` stands for a value that was not finite (JSON cannot hold NaN). */
  number(obj: Json, key: string, where = key, nullable = false): number {
    const value = obj[key];
    if (nullable && value === null) return NaN;
    if (typeof value !== "number") this.fail(`"${where}" should be a number`);
    return value;
  }

  /** An integer in [min, max]. */
  integer(obj: Json, key: string, where = key, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = obj[key];
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      this.fail(`"${where}" should be an integer ${range} (got ${JSON.stringify(value)})`);
    }
    return value as number;
  }

  oneOf<T extends string>(obj: Json, key: string, allowed: readonly T[], where = key): T {
    const value = obj[key];
    if (!allowed.includes(value as T)) {
      this.fail(`"${where}" should be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
    }
    return value as T;
  }
}

/** Validate one metric value of `metrics.json`. */
function parseMetric(raw: unknown, name: string, check: FieldChecker): MetricValue {
  const where = `metrics.${name}`;
  const obj = check.object(raw, `"${where}"`);
  const value = check.number(obj, "value", `${where}.value`, true);
  const unit = check.string(obj, "unit", `${where}.unit`);
  const better = check.string(obj, "better", `${where}.better`);
  if (better !== "lower" && better !== "higher" && better !== "none") {
    check.fail(
      `"${where}.better" should be "lower", "higher" or "none", not ${JSON.stringify(better)}`,
    );
  }
  const metric: MetricValue = { value, unit, better: better as MetricValue["better"] };
  if (obj.kind !== undefined) {
    if (!KINDS.includes(obj.kind as LikelihoodKind)) {
      check.fail(`"${where}.kind" should be one of ${KINDS.join(", ")}`);
    }
    metric.kind = obj.kind as LikelihoodKind;
  }
  if (obj.k !== undefined) {
    const k = check.number(obj, "k", `${where}.k`);
    if (!Number.isInteger(k) || k < 1) check.fail(`"${where}.k" should be a positive integer`);
    metric.k = k;
  }
  if (obj.n !== undefined) {
    const n = check.number(obj, "n", `${where}.n`);
    if (!Number.isInteger(n) || n < 1) check.fail(`"${where}.n" should be a positive integer`);
    metric.n = n;
  }
  // What the value was computed on (metrics/metric.ts): kept for the reports to show.
  for (const key of ["subset_seed", "samples"] as const) {
    if (obj[key] === undefined) continue;
    const count = check.number(obj, key, `${where}.${key}`);
    if (!Number.isInteger(count) || count < 0) {
      check.fail(`"${where}.${key}" should be a non-negative integer`);
    }
    metric[key] = count;
  }
  if (obj.sigma !== undefined) metric.sigma = check.number(obj, "sigma", `${where}.sigma`);
  if (obj.reference !== undefined) {
    metric.reference = check.string(obj, "reference", `${where}.reference`);
  }
  return metric;
}

/** Parse and validate the text of a `metrics.json`. Throws a one-line UsageError naming `file`. */
export function parseMetricsFile(text: string, file: string): MetricsFile {
  const check = new FieldChecker(file);
  const obj = check.object(check.parse(text), "the file");
  const status = check.oneOf(obj, "status", END_STATUSES);
  const seed = check.number(obj, "seed");
  if (!Number.isInteger(seed) || seed < 0) check.fail(`"seed" should be a non-negative integer`);
  const rawMetrics = check.object(obj.metrics, `"metrics"`);
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  const metrics: Record<string, MetricValue> = Object.fromEntries(
    Object.entries(rawMetrics).map(([name, raw]) => [name, parseMetric(raw, name, check)]),
  );
  return {
    model: check.string(obj, "model"),
    variant: check.optionalString(obj, "variant"),
    dataset: check.string(obj, "dataset"),
    seed,
    backend: check.string(obj, "backend"),
    suite: check.string(obj, "suite"),
    run_id: check.string(obj, "run_id"),
    status,
    metrics,
  };
}

/** Parse `curves.jsonl`: one JSON object per line with a numeric `step`. */
export function parseCurves(text: string, file: string): CurvePoint[] {
  const points: CurvePoint[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const check = new FieldChecker(`${file}:${i + 1}`);
    const obj = check.object(check.parse(lines[i]), "the line");
    const step = check.number(obj, "step");
    const entries = Object.entries(obj).filter(([key]) => key !== "step");
    for (const [key, value] of entries) {
      if (value !== null && typeof value !== "number") {
        check.fail(`"${key}" should be a number or null`);
      }
    }
    points.push({ step, values: Object.fromEntries(entries) as Record<string, number | null> });
  }
  return points;
}

function parseBudget(raw: unknown, check: FieldChecker): Budget | null {
  if (raw === null || raw === undefined) return null;
  const obj = check.object(raw, `"config.budget"`);
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === "images") {
    return { images: check.integer(obj, "images", "config.budget.images", 1) };
  }
  if (keys.length === 1 && keys[0] === "seconds") {
    const seconds = check.number(obj, "seconds", "config.budget.seconds");
    if (!(seconds > 0)) check.fail(`"config.budget.seconds" should be a number > 0`);
    return { seconds };
  }
  return check.fail(`"config.budget" should be {"images": N} or {"seconds": S}`);
}

function parseConfig(raw: unknown, check: FieldChecker): RunConfig {
  const obj = check.object(raw, `"config"`);
  const int = (key: string, min = 0) => check.integer(obj, key, `config.${key}`, min);
  const options = check.object(obj.options, `"config.options"`);
  for (const [key, value] of Object.entries(options)) {
    if (!["number", "string", "boolean"].includes(typeof value)) {
      check.fail(`"config.options.${key}" should be a number, string or boolean`);
    }
  }
  const budget = parseBudget(obj.budget, check);
  const steps = obj.steps === null && budget && "seconds" in budget ? null : int("steps", 1);
  return {
    steps,
    input: check.oneOf(obj, "input", INPUT_KINDS, "config.input"),
    options: options as ModelOptions,
    budget,
    eval_count: int("eval_count", 1),
    iwae_k: int("iwae_k"),
    sample_count: int("sample_count"),
    feature_samples: int("feature_samples"),
    kid_subsets: int("kid_subsets"),
    parzen_samples: int("parzen_samples"),
    recon_count: int("recon_count"),
    ais_count: int("ais_count"),
    ...(obj.training === undefined ? {} : { training: parseTraining(obj.training, check) }),
  };
}

function parseTraining(raw: unknown, check: FieldChecker): TrainingProtocol {
  try {
    return parseTrainingProtocol(raw, `"config.training"`);
  } catch (error) {
    return check.fail((error as Error).message);
  }
}

function parseProvenance(raw: unknown, check: FieldChecker): Provenance {
  const obj = check.object(raw, `"provenance"`);
  const at = (key: string) => `provenance.${key}`;
  const text = (key: string) => check.string(obj, key, at(key));
  const data = check.object(obj.dataset, `"provenance.dataset"`);
  const dataText = (key: string) => check.string(data, key, at(`dataset.${key}`));
  const dataInt = (key: string) => check.integer(data, key, at(`dataset.${key}`));
  if (obj.genbench_dirty !== null) check.boolean(obj, "genbench_dirty", at("genbench_dirty"));
  return {
    genbench_commit: text("genbench_commit"),
    genbench_dirty: obj.genbench_dirty as boolean | null,
    deno: text("deno"),
    v8: text("v8"),
    typescript: text("typescript"),
    tfjs: text("tfjs"),
    os: text("os"),
    arch: text("arch"),
    backend: text("backend"),
    adapter: check.optionalString(obj, "adapter", at("adapter"), true),
    fallback_adapter: check.boolean(obj, "fallback_adapter", at("fallback_adapter")),
    ...(obj.step_replay === undefined
      ? {}
      : { step_replay: check.boolean(obj, "step_replay", at("step_replay")) }),
    ...(obj.threads === undefined
      ? {}
      : { threads: check.integer(obj, "threads", at("threads"), 1) }),
    dataset: {
      name: dataText("name"),
      source: dataText("source"),
      sha256: dataText("sha256"),
      split_seed: dataInt("split_seed"),
      binarization_seed: dataInt("binarization_seed"),
      train: dataInt("train"),
      valid: dataInt("valid"),
      test: dataInt("test"),
    },
  };
}

function parseResumed(raw: unknown, check: FieldChecker): ResumedSession[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) check.fail(`"resumed" should be a list`);
  return raw.map((item, i) => {
    const where = `resumed[${i}]`;
    const obj = check.object(item, `"${where}"`);
    const at = check.string(obj, "at", `${where}.at`);
    const commit = check.string(obj, "genbench_commit", `${where}.genbench_commit`);
    if (obj.genbench_dirty !== null) {
      check.boolean(obj, "genbench_dirty", `${where}.genbench_dirty`);
    }
    return { at, genbench_commit: commit, genbench_dirty: obj.genbench_dirty as boolean | null };
  });
}

/**
 * Parse and validate the text of a `run.json`, every field. `forReport`: a report needs the
 * run's identity and provenance only, so `config` need only be an object and `streams` may be
 * absent (reports also read folders of older genbench versions); `--resume` validates it all.
 */
export function parseRunRecord(text: string, file: string, forReport = false): RunRecord {
  const check = new FieldChecker(file);
  const obj = check.object(check.parse(text), "the file");
  const streams = obj.streams === undefined && forReport ? [] : obj.streams;
  if (!Array.isArray(streams) || !streams.every((s) => typeof s === "string")) {
    return check.fail(`"streams" should be a list of names`);
  }
  const optionalInt = (key: string) => obj[key] === undefined ? undefined : check.integer(obj, key);
  const wall = obj.wall_seconds === null ? null : check.number(obj, "wall_seconds");
  return {
    run_id: check.string(obj, "run_id"),
    status: check.oneOf(obj, "status", RUN_STATUSES),
    suite: check.string(obj, "suite"),
    model: check.string(obj, "model"),
    family: check.string(obj, "family"),
    variant: check.optionalString(obj, "variant", "variant", true),
    seed: check.integer(obj, "seed", "seed", 0, MAX_SEED),
    streams,
    config: forReport
      ? check.object(obj.config, `"config"`) as unknown as RunConfig
      : parseConfig(obj.config, check),
    provenance: parseProvenance(obj.provenance, check),
    started_at: check.string(obj, "started_at"),
    resumed: parseResumed(obj.resumed, check),
    steps_done: optionalInt("steps_done"),
    images_done: optionalInt("images_done"),
    finished_at: check.optionalString(obj, "finished_at", "finished_at", true),
    wall_seconds: wall,
  };
}

/** Read a run file as text, refusing huge files; `null` if it does not exist. */
export async function readRunFile(path: string): Promise<string | null> {
  const limit = path.endsWith(".jsonl") ? MAX_BYTES.curves : MAX_BYTES.runJson;
  try {
    return await readTextFileLimited(path, limit, "results file");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof Deno.errors.NotFound) return null;
    throw new UsageError(`${path}: cannot read it (${(error as Error).message})`);
  }
}

/** The record of the run in `dir`, validated; `null` if the folder has no `run.json`. */
export async function readRunRecord(dir: string): Promise<RunRecord | null> {
  const path = join(dir, RUN_FILES.record);
  const text = await readRunFile(path);
  return text === null ? null : parseRunRecord(text, path);
}

/** The `metrics.json` of the run in `dir`, validated; `null` if it does not exist. */
export async function readMetricsFile(dir: string): Promise<MetricsFile | null> {
  const path = join(dir, RUN_FILES.metrics);
  const text = await readRunFile(path);
  return text === null ? null : parseMetricsFile(text, path);
}

// ---------------------------------------------------------------------------------------------
// Writing.

/** Pretty JSON with a final newline, as every JSON file of a run is written. */
export const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";

/**
 * Write a file of a run atomically; a failed write (full disk, no permission) is one clear line.
 */
export async function saveRunFile(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw new UsageError(
      `cannot write ${path} (${(error as Error).message}); the run stops here, the files it ` +
        "wrote before are complete (make room, then continue with --resume)",
    );
  }
}

/** The same as {@link saveRunFile} for JSON, but synchronous: for a signal handler. */
export function saveJsonSync(path: string, value: unknown): void {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.writeTextFileSync(temp, json(value));
    Deno.renameSync(temp, path);
  } catch {
    try {
      Deno.removeSync(temp);
    } catch { /* nothing was written */ }
  }
}

// The temp files of atomic writes: `.<uuid>.tmp` (core/files.ts) and `<file>.<uuid>.tmp`.
const TEMP_FILE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/** True for the name of an atomic write's temp file. */
export function isTempFile(name: string): boolean {
  return TEMP_FILE.test(name);
}

/**
 * Remove the temp files that an interrupted write left in a run folder (synchronous, for the
 * exit path of a signal handler too). Returns the names removed.
 */
export function removeTempFilesSync(dir: string): string[] {
  const removed: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile || !isTempFile(entry.name)) continue;
      try {
        Deno.removeSync(join(dir, entry.name));
        removed.push(entry.name);
      } catch { /* gone already, or not ours to remove */ }
    }
  } catch { /* the folder is gone */ }
  return removed.sort();
}
