/**
 * The runner: train → evaluate on the static test set → record. Each run writes
 * `<out>/runs/<run-id>/` with `run.json` (provenance, config, status), `curves.jsonl` (one line
 * per logged step), `metrics.json`, `samples.png`, `weights.bin`, and while it is unfinished
 * `checkpoint.bin` (everything needed to continue exactly: weights, optimizer state, random
 * streams, data order, step, curves). `--resume` finds unfinished runs by the contents of their
 * `run.json` and continues them from that checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { Stream, type StreamState } from "../core/rng.ts";
import type { BackendInfo } from "../core/backend.ts";
import { UsageError } from "../core/errors.ts";
import { type Provenance, provenance } from "../core/provenance.ts";
import { Progress } from "../core/progress.ts";
import { MAX_BYTES, readTextFileLimited, writeFileAtomic } from "../core/files.ts";
import {
  captureModel,
  checkModelFits,
  encodeCheckpoint,
  encodeWeights,
  readCheckpoint,
  restoreModel,
  type TrainingCheckpoint,
} from "../core/checkpoint.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import { inputBatch } from "../datasets/batch.ts";
import {
  type GenerativeModel,
  type InputKind,
  inputKindOf,
  type ModelOptions,
  type ModelSpec,
  parameterCount,
} from "../models/model.ts";
import { bitsPerDim, type MetricValue, metricValue } from "../metrics/metric.ts";
import { type EvalSums, evaluate } from "../metrics/evaluate.ts";
import { gridPng } from "../reports/grid.ts";
import { evalCountOf, type Suite, type SuiteEntry } from "./suites.ts";
import {
  adversarialEvaluation,
  featureEvaluation,
  reconstructionEvaluation,
} from "./evaluations.ts";

/** The file of a run's latest checkpoint; it exists only while the run is unfinished. */
export const CHECKPOINT_FILE = "checkpoint.bin";
/** Default of `--checkpoint-every` (steps). Checkpoints never change results, only cost time. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** Everything that determines one run. */
export interface RunPlan {
  suite: Suite;
  entry: SuiteEntry;
  spec: ModelSpec;
  seed: number;
  /** The model's defaults, overridden by the suite entry. */
  options: ModelOptions;
}

/** Where a run stands. Only `finished` runs have the full set of metrics. */
export type RunStatus = "running" | "finished" | "diverged" | "interrupted";

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
  status: "finished" | "diverged" | "interrupted";
  metrics: Record<string, MetricValue>;
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
  streams: string[];
  config: RunConfig;
  provenance: Provenance;
  started_at: string;
  /** Each continuation with `--resume`: when, and under which genbench commit. */
  resumed?: { at: string; genbench_commit: string; genbench_dirty: boolean | null }[];
  /** Training steps done so far (of `config.steps`). */
  steps_done?: number;
  finished_at: string | null;
  /** Wall time over all sessions of the run. */
  wall_seconds: number | null;
}

/** What a run was asked to do (part of its identity). */
interface RunConfig {
  steps: number;
  input: InputKind;
  options: ModelOptions;
  eval_count: number;
  iwae_k: number;
  sample_count: number;
  feature_samples: number;
  kid_subsets: number;
  parzen_samples: number;
  recon_count: number;
  ais_count: number;
}

/** Settings of one run that do not change its results. */
export interface RunSettings {
  quiet?: boolean;
  /** Write a checkpoint every this many steps (0: only at the end of training and on Ctrl-C). */
  checkpointEvery?: number;
  /** Ctrl-C handling; without it a run cannot be interrupted gracefully. */
  stop?: StopRequest;
  /** Continue from this checkpoint (of the run in `runDir`) instead of starting. */
  resume?: { record: RunRecord; checkpoint: TrainingCheckpoint };
}

/** Thrown when a run stopped on Ctrl-C after saving its checkpoint; the CLI exits 130. */
export class RunInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunInterrupted";
  }
}

/**
 * Ctrl-C (SIGINT): the first asks the current run to stop at the next step boundary (it then
 * writes a checkpoint and an `interrupted` record); a run that is already evaluating finishes,
 * and the suite stops before the next run. The second Ctrl-C exits at once with status 130,
 * after marking the current run interrupted.
 */
export class StopRequest {
  requested = false;
  /** Set by the current run: records it as interrupted, synchronously, before an exit. */
  onExit: (() => void) | null = null;
  readonly #listener = () => this.request();

  /** Listen for SIGINT until {@link StopRequest.close}. */
  listen(): this {
    Deno.addSignalListener("SIGINT", this.#listener);
    return this;
  }

  close(): void {
    Deno.removeSignalListener("SIGINT", this.#listener);
  }

  /** What a Ctrl-C does. */
  request(): void {
    if (this.requested) {
      console.error("genbench: second Ctrl-C: exiting now");
      this.onExit?.();
      Deno.exit(130);
    }
    this.requested = true;
    console.error(
      "genbench: Ctrl-C: stopping at the next step and saving a checkpoint " +
        "(Ctrl-C again exits at once)",
    );
  }
}

/** Resolve a suite entry into a plan. */
export function planRun(suite: Suite, entry: SuiteEntry, spec: ModelSpec, seed: number): RunPlan {
  return { suite, entry, spec, seed, options: { ...spec.defaults, ...entry.options } };
}

/** The run's folder name: model, variant, dataset, seed and the suite's start time. */
export function runId(plan: RunPlan, dataset: Dataset, stamp: string): string {
  const variant = plan.entry.variant ? `-${plan.entry.variant}` : "";
  return `${plan.spec.name}${variant}-${dataset.name}-seed${plan.seed}-${stamp}`;
}

function runConfig(plan: RunPlan, dataset: Dataset): RunConfig {
  return {
    steps: plan.entry.steps,
    input: inputKindOf(plan.spec, plan.options),
    options: plan.options,
    eval_count: evalCountOf(plan.suite, plan.entry) ?? dataset.test.count,
    iwae_k: plan.suite.iwaeK,
    sample_count: plan.suite.sampleCount,
    feature_samples: plan.entry.featureSamples ?? plan.suite.featureSamples ?? 0,
    kid_subsets: plan.suite.kidSubsets ?? 10,
    parzen_samples: plan.suite.parzenSamples ?? 0,
    recon_count: plan.suite.reconCount ?? 0,
    ais_count: plan.suite.aisCount ?? 0,
  };
}

/**
 * What makes two runs the same run, as a string: suite, model, variant, seed, config, dataset
 * bytes and backend. `--resume` compares it with the same fields read back from `run.json`.
 */
export function runIdentity(plan: RunPlan, dataset: Dataset, backend: BackendInfo): string {
  return JSON.stringify([
    plan.suite.name,
    plan.spec.name,
    plan.entry.variant ?? null,
    plan.seed,
    runConfig(plan, dataset),
    dataset.name,
    dataset.fingerprint,
    backend.name,
  ]);
}

function recordIdentity(record: RunRecord): string {
  return JSON.stringify([
    record.suite,
    record.model,
    record.variant,
    record.seed,
    record.config,
    record.provenance?.dataset?.name,
    record.provenance?.dataset?.sha256,
    record.provenance?.backend,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Planning a suite, with --resume.

/** One run of a suite: start it, resume it from its checkpoint, or skip it (already done). */
export type Job =
  | { action: "start"; plan: RunPlan; dir: string }
  | {
    action: "resume";
    plan: RunPlan;
    dir: string;
    record: RunRecord;
    checkpoint: TrainingCheckpoint;
  }
  | { action: "skip"; plan: RunPlan; dir: string; result: MetricsFile };

interface PriorRun {
  dir: string;
  record: RunRecord;
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readTextFileLimited(path, MAX_BYTES.runJson, "run record");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UsageError(`${path}: not valid JSON (move that run folder away to start over)`);
  }
}

/** Every run folder under `runsDir` that has a `run.json`. */
async function priorRuns(runsDir: string): Promise<PriorRun[]> {
  const runs: PriorRun[] = [];
  for await (const entry of Deno.readDir(runsDir)) {
    if (!entry.isDirectory) continue;
    const dir = join(runsDir, entry.name);
    const path = join(dir, "run.json");
    if (!(await exists(path))) continue;
    const record = await readJson<RunRecord>(path);
    if (typeof record !== "object" || record === null || typeof record.status !== "string") {
      throw new UsageError(`${path}: not a genbench run record`);
    }
    runs.push({ dir, record });
  }
  // Newest first, so that the latest attempt of a run wins.
  return runs.sort((a, b) => String(b.record.started_at).localeCompare(a.record.started_at));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
}

/**
 * Decide what to do with each planned run. Without `resume` every run starts in a new folder.
 * With it, a run whose identity matches a `finished` or `diverged` record is skipped, one that
 * matches an unfinished record with a checkpoint resumes from it, one that matches an
 * unfinished record without a checkpoint starts over in that folder, and the rest start.
 * Every checkpoint is read and checked against its model here, before any training.
 */
export async function planJobs(
  plans: RunPlan[],
  dataset: Dataset,
  backend: BackendInfo,
  runsDir: string,
  stamp: string,
  resume: boolean,
): Promise<Job[]> {
  const prior = resume ? await priorRuns(runsDir) : [];
  const jobs: Job[] = [];
  for (const plan of plans) {
    const identity = runIdentity(plan, dataset, backend);
    const matches = prior.filter((run) => recordIdentity(run.record) === identity);
    const done = matches.find((run) =>
      run.record.status === "finished" || run.record.status === "diverged"
    );
    if (done) {
      const result = await readJson<MetricsFile>(join(done.dir, "metrics.json"));
      if (result?.status !== done.record.status || typeof result.metrics !== "object") {
        throw new UsageError(`${join(done.dir, "metrics.json")}: does not match its run.json`);
      }
      jobs.push({ action: "skip", plan, dir: done.dir, result });
      continue;
    }
    const latest = matches[0];
    if (!latest) {
      jobs.push({ action: "start", plan, dir: join(runsDir, runId(plan, dataset, stamp)) });
      continue;
    }
    const path = join(latest.dir, CHECKPOINT_FILE);
    if (!(await exists(path))) {
      jobs.push({ action: "start", plan, dir: latest.dir });
      continue;
    }
    const checkpoint = await readCheckpoint(path);
    checkRunState(checkpoint, plan, dataset, identity, path);
    const model = createModel(plan, dataset);
    try {
      checkModelFits(checkpoint, model, path);
    } finally {
      model.dispose();
    }
    jobs.push({ action: "resume", plan, dir: latest.dir, record: latest.record, checkpoint });
  }
  return jobs;
}

/** Carry out one job: skip it (saying so), resume it from its checkpoint, or start it. */
export async function runJob(
  job: Job,
  dataset: Dataset,
  backend: BackendInfo,
  settings: RunSettings,
): Promise<MetricsFile> {
  const name = `${job.plan.spec.name}${
    job.plan.entry.variant ? ` (${job.plan.entry.variant})` : ""
  }`;
  const say = (line: string) => settings.quiet || console.error(line);
  if (job.action === "skip") {
    say(`genbench: ${name} seed ${job.plan.seed}: already ${job.result.status} in ${job.dir}`);
    return job.result;
  }
  if (job.action === "resume") {
    say(
      `genbench: ${name} seed ${job.plan.seed}: resuming ${job.dir} at step ` +
        `${stateOf(job.checkpoint).step}/${job.plan.entry.steps}`,
    );
    return await runOne(job.plan, dataset, backend, job.dir, {
      ...settings,
      resume: { record: job.record, checkpoint: job.checkpoint },
    });
  }
  return await runOne(job.plan, dataset, backend, job.dir, settings);
}

// ---------------------------------------------------------------------------------------------
// One run.

const STREAM_NAMES = ["data", "binarize", "train", "evaluation", "sample"] as const;
type Streams = Record<(typeof STREAM_NAMES)[number], Stream>;

function freshStreams(seed: number): Streams {
  return {
    data: Stream.derive(seed, "data-order"),
    binarize: Stream.derive(seed, "train-binarization"),
    train: Stream.derive(seed, "train-noise"),
    evaluation: Stream.derive(seed, "eval-noise"),
    sample: Stream.derive(seed, "sample"),
  };
}

function createModel(plan: RunPlan, dataset: Dataset): GenerativeModel {
  return plan.spec.create({
    shape: dataset.shape,
    options: plan.options,
    init: Stream.derive(plan.seed, "init"),
  });
}

/** Where training stands; saved in every checkpoint. */
interface TrainState {
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
}

interface SavedState {
  identity: string;
  step: number;
  epoch: number;
  cursor: number;
  seconds: number;
  curves: string[];
  streams: Record<string, StreamState>;
}

function stateOf(checkpoint: TrainingCheckpoint): SavedState {
  return checkpoint.meta.run as unknown as SavedState;
}

const isStreamState = (s: unknown): s is StreamState =>
  typeof s === "object" && s !== null && Array.isArray((s as StreamState).generator) &&
  (s as StreamState).generator.length === 4 &&
  (s as StreamState).generator.every((n) => Number.isInteger(n)) &&
  ((s as StreamState).spareNormal === null || typeof (s as StreamState).spareNormal === "number");

/** Check the runner's part of a checkpoint: its run, step, streams, data order and curves. */
function checkRunState(
  checkpoint: TrainingCheckpoint,
  plan: RunPlan,
  dataset: Dataset,
  identity: string,
  source: string,
): void {
  const fail = (why: string): never => {
    throw new UsageError(`${source}: ${why}`);
  };
  const s = stateOf(checkpoint);
  if (s.identity !== identity) {
    fail("checkpoint belongs to a different run (config, data or backend)");
  }
  const count = dataset.train.count;
  const batch = Math.min(Number(plan.options.batchSize), count);
  if (!Number.isInteger(s.step) || s.step < 1 || s.step > plan.entry.steps) {
    fail(`checkpoint step ${s.step} is outside 1..${plan.entry.steps}`);
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

function restoreState(checkpoint: TrainingCheckpoint): TrainState {
  const s = stateOf(checkpoint);
  const streams = Object.fromEntries(
    STREAM_NAMES.map((name) => [name, Stream.fromState(s.streams[name])]),
  ) as Streams;
  const order = checkpoint.blobs.get("run/order")!.data as Uint32Array;
  return { ...s, order: order.slice(), curves: [...s.curves], streams };
}

/** Write a file of the run; a failed write (full disk, no permission) is one clear line. */
async function save(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw new UsageError(
      `cannot write ${path} (${(error as Error).message}); the run stops here, the files it ` +
        "wrote before are complete (make room, then continue with --resume)",
    );
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";

/** The same as {@link save} for JSON, but synchronous: for the Ctrl-C handler. */
function saveJsonSync(path: string, value: unknown): void {
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

async function writeCheckpoint(dir: string, model: GenerativeModel, state: TrainState) {
  const { blobs, optimizers } = await captureModel(model);
  blobs.push({
    name: "run/order",
    dtype: "uint32",
    shape: [state.order.length],
    data: state.order,
  });
  const run: SavedState = {
    identity: state.identity,
    step: state.step,
    epoch: state.epoch,
    cursor: state.cursor,
    seconds: state.seconds,
    curves: state.curves,
    streams: Object.fromEntries(STREAM_NAMES.map((name) => [name, state.streams[name].state()])),
  };
  await save(join(dir, "curves.jsonl"), state.curves.join(""));
  await save(
    join(dir, CHECKPOINT_FILE),
    encodeCheckpoint({ run: run as unknown as Record<string, unknown>, optimizers }, blobs),
  );
}

function label(plan: RunPlan): string {
  const variant = plan.entry.variant ? ` (${plan.entry.variant})` : "";
  return `[${plan.spec.name}${variant} seed ${plan.seed}]`;
}

function metricsFile(
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
  id: string,
  status: MetricsFile["status"],
  metrics: Record<string, MetricValue>,
): MetricsFile {
  return {
    model: plan.spec.name,
    variant: plan.entry.variant ?? null,
    dataset: dataset.name,
    seed: plan.seed,
    backend: backend.name,
    suite: plan.suite.name,
    run_id: id,
    status,
    metrics,
  };
}

/** Train, evaluate and record one run (or continue it from `settings.resume`). */
export async function runOne(
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
  runDir: string,
  settings: RunSettings = {},
): Promise<MetricsFile> {
  const { seed } = plan;
  const stop = settings.stop;
  if (stop?.requested) {
    throw new RunInterrupted(
      `stopped before ${label(plan)} (run the same command with --resume to continue)`,
    );
  }
  const id = runDir.split(/[\\/]/).pop()!;
  const wallStart = performance.now();
  await Deno.mkdir(runDir, { recursive: true }).catch((error) => {
    throw new UsageError(`cannot create ${runDir} (${error.message})`);
  });
  const record = settings.resume
    ? await resumedRecord(settings.resume.record, plan, dataset, backend)
    : await newRecord(plan, dataset, backend, id);
  const previousWall = record.wall_seconds ?? 0;
  record.status = "running";
  const runJson = join(runDir, "run.json");
  await save(runJson, json(record));
  if (stop) {
    // A second Ctrl-C exits without waiting: say so in the records (the last checkpoint, if
    // any, is on disk and --resume continues from it).
    stop.onExit = () => {
      saveJsonSync(
        join(runDir, "metrics.json"),
        metricsFile(plan, dataset, backend, id, "interrupted", {}),
      );
      saveJsonSync(runJson, { ...record, status: "interrupted" });
    };
  }

  const model = createModel(plan, dataset);
  try {
    let state: TrainState;
    if (settings.resume) {
      const { checkpoint } = settings.resume;
      await restoreModel(checkpoint, model, join(runDir, CHECKPOINT_FILE));
      state = restoreState(checkpoint);
    } else {
      const streams = freshStreams(seed);
      state = {
        identity: runIdentity(plan, dataset, backend),
        step: 0,
        epoch: 0,
        cursor: 0,
        order: streams.data.permutation(dataset.train.count),
        seconds: 0,
        curves: [],
        streams,
      };
    }
    const progress = new Progress(label(plan), plan.entry.steps, settings.quiet);
    // Each checkpoint also updates run.json, so that a killed run shows how far it got.
    const checkpoint = async () => {
      await writeCheckpoint(runDir, model, state);
      record.steps_done = state.step;
      await save(runJson, json(record));
    };
    const outcome = await trainModel(
      plan,
      model,
      dataset,
      state,
      runDir,
      progress,
      settings,
      checkpoint,
    );
    record.steps_done = state.step;
    const finish = async (status: RunStatus) => {
      record.status = status;
      record.finished_at = status === "interrupted" ? null : new Date().toISOString();
      record.wall_seconds = previousWall + (performance.now() - wallStart) / 1000;
      await save(runJson, json(record));
    };

    if (outcome === "interrupted") {
      const partial = metricsFile(plan, dataset, backend, id, "interrupted", {
        params: metricValue("params", parameterCount(model)),
      });
      await save(join(runDir, "metrics.json"), json(partial));
      await finish("interrupted");
      throw new RunInterrupted(
        `interrupted ${label(plan)} at step ${state.step}/${plan.entry.steps}; checkpoint saved ` +
          `in ${runDir} (run the same command with --resume to continue)`,
      );
    }
    await save(join(runDir, "weights.bin"), await encodeWeights(model.weights()));
    const metrics = outcome === "diverged"
      ? {}
      : await evaluateRun(plan, model, dataset, state.streams, runDir);
    metrics.params = metricValue("params", parameterCount(model));
    const batchSize = Math.min(Number(plan.options.batchSize), dataset.train.count);
    metrics.train_seconds = metricValue("train_seconds", state.seconds);
    metrics.train_img_per_s = metricValue(
      "train_img_per_s",
      (state.step * batchSize) / Math.max(state.seconds, 1e-9),
    );
    const file = metricsFile(plan, dataset, backend, id, outcome, metrics);
    await save(join(runDir, "metrics.json"), json(file));
    await finish(outcome);
    // A finished or diverged run is final: its checkpoint is no longer needed.
    await Deno.remove(join(runDir, CHECKPOINT_FILE)).catch(() => {});
    return file;
  } finally {
    if (stop) stop.onExit = null;
    model.dispose();
  }
}

async function newRecord(
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
  id: string,
): Promise<RunRecord> {
  return {
    run_id: id,
    status: "running",
    suite: plan.suite.name,
    model: plan.spec.name,
    family: plan.spec.family,
    variant: plan.entry.variant ?? null,
    seed: plan.seed,
    streams: [...STREAM_NAMES, "init"],
    config: runConfig(plan, dataset),
    provenance: await provenance(backend, dataset),
    started_at: new Date().toISOString(),
    steps_done: 0,
    finished_at: null,
    wall_seconds: null,
  };
}

/**
 * The record of a resumed run: the original, plus this session's time and commit (a resumed run
 * is exact only if the code did not change, so a different commit is said on stderr).
 */
async function resumedRecord(
  original: RunRecord,
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
): Promise<RunRecord> {
  const now = await provenance(backend, dataset);
  const before = original.provenance.genbench_commit;
  if (now.genbench_commit !== before || now.genbench_dirty || original.provenance.genbench_dirty) {
    console.error(
      `genbench: note: ${label(plan)} started under genbench ${before}` +
        `${original.provenance.genbench_dirty ? " (dirty)" : ""} and resumes under ` +
        `${now.genbench_commit}${now.genbench_dirty ? " (dirty)" : ""}`,
    );
  }
  const session = {
    at: new Date().toISOString(),
    genbench_commit: now.genbench_commit,
    genbench_dirty: now.genbench_dirty,
  };
  return { ...original, resumed: [...(original.resumed ?? []), session] };
}

/** The test-set metrics and the sample grid of a trained model. */
async function evaluateRun(
  plan: RunPlan,
  model: GenerativeModel,
  dataset: Dataset,
  streams: Streams,
  runDir: string,
): Promise<Record<string, MetricValue>> {
  const { spec, suite } = plan;
  const kind = inputKindOf(spec, plan.options);
  // The protocol as resolved (and recorded in run.json) once, defaults included.
  const config = runConfig(plan, dataset);
  const protocol = { evalCount: config.eval_count, iwaeK: config.iwae_k };
  const sums = await evaluate(model, spec, dataset, kind, protocol, streams.evaluation);
  const metrics = likelihoodMetrics(sums, dimOf(dataset.shape));
  if (spec.capabilities.includes("sample")) {
    const sampleStart = performance.now();
    const samples = await model.sample(suite.sampleCount, streams.sample);
    const sampleSeconds = (performance.now() - sampleStart) / 1000;
    metrics.sample_img_per_s = metricValue("sample_img_per_s", suite.sampleCount / sampleSeconds);
    const unit = kind === "byte" ? samples.map((v) => v / 255) : samples;
    const columns = Math.ceil(Math.sqrt(suite.sampleCount));
    await save(join(runDir, "samples.png"), gridPng(unit, dataset.shape, columns));
  }
  // Each further evaluation draws from its own child of the evaluation stream, so adding one
  // never changes the numbers of another.
  const noise = streams.evaluation.child("extras");
  Object.assign(
    metrics,
    await reconstructionEvaluation(spec, model, dataset, kind, config.recon_count, runDir, save),
    await adversarialEvaluation(
      spec,
      model,
      dataset,
      { parzenSamples: config.parzen_samples, aisCount: config.ais_count },
      noise.child("adversarial"),
      runDir,
      save,
    ),
  );
  const features = await featureEvaluation(
    spec,
    model,
    dataset,
    kind,
    { samples: config.feature_samples, kidSubsets: config.kid_subsets },
    noise.child("features"),
    runDir,
    save,
  );
  Object.assign(metrics, features.metrics);
  if (features.extractor) {
    const record = { extractor: features.extractor, skipped: features.skipped };
    await save(
      join(runDir, "features.json"),
      new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"),
    );
  }
  return metrics;
}

/** Names and values of the losses whose value is NaN or infinite. */
function nonFinite(values: Record<string, number>): string | null {
  const bad = Object.entries(values).filter(([, v]) => !Number.isFinite(v));
  return bad.length ? bad.map(([name, v]) => `${name} = ${v}`).join(", ") : null;
}

/**
 * The training loop, from `state.step` to the budget. Losses are read (a GPU sync) only on
 * logged steps and checkpoint steps; a NaN or infinite loss there ends the run as diverged.
 */
async function trainModel(
  plan: RunPlan,
  model: GenerativeModel,
  dataset: Dataset,
  state: TrainState,
  runDir: string,
  progress: Progress,
  settings: RunSettings,
  checkpoint: () => Promise<void>,
): Promise<"finished" | "diverged" | "interrupted"> {
  const { steps } = plan.entry;
  const kind = inputKindOf(plan.spec, plan.options);
  const batchSize = Math.min(Number(plan.options.batchSize), dataset.train.count);
  const dim = dimOf(dataset.shape);
  const conditional = plan.spec.capabilities.includes("conditional");
  const logEvery = Math.max(1, Math.floor(steps / 100));
  const every = settings.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  const { streams } = state;
  // Training time of this session, added to the time of the earlier ones.
  const base = state.seconds;
  let sessionStart = performance.now();
  const clock = () => base + (performance.now() - sessionStart) / 1000;
  let lastYield = performance.now();
  while (state.step < steps) {
    // Signals are delivered by the event loop, which a synchronous loop of steps never lets
    // run: give it a turn about every 0.1 s, so that a Ctrl-C is seen at the next step.
    if (settings.stop && performance.now() - lastYield > 100) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
    if (state.cursor + batchSize > state.order.length) {
      state.order = streams.data.permutation(dataset.train.count);
      state.cursor = 0;
      state.epoch++;
    }
    const rows = state.order.subarray(state.cursor, state.cursor + batchSize);
    state.cursor += batchSize;
    const x = inputBatch(dataset.train.images, null, dim, rows, kind, streams.binarize);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => dataset.train.labels[r]), "int32")
      : undefined;
    const losses = model.trainStep(x, streams.train, labels);
    x.dispose();
    labels?.dispose();
    const step = ++state.step;
    const stopping = settings.stop?.requested ?? false;
    const logged = step % logEvery === 0 || step === steps;
    const checkpointed = step === steps || stopping || (every > 0 && step % every === 0);
    if (!logged && !checkpointed) {
      tf.dispose(Object.values(losses));
      continue;
    }
    const values: Record<string, number> = {};
    for (const [name, scalar] of Object.entries(losses)) values[name] = (await scalar.data())[0];
    tf.dispose(Object.values(losses));
    state.seconds = clock();
    if (logged) {
      state.curves.push(
        JSON.stringify({
          step,
          epoch: state.epoch,
          images: step * batchSize,
          seconds: state.seconds,
          ...values,
        }) + "\n",
      );
      progress.update(step, values, (step * batchSize) / state.seconds);
    }
    const bad = nonFinite(values);
    if (bad) {
      // Always said, even with --quiet: the run's record will lack its test metrics.
      console.error(
        `genbench: ${label(plan)} diverged at step ${step} (${bad}); run marked "diverged", ` +
          "the suite goes on",
      );
      await save(join(runDir, "curves.jsonl"), state.curves.join(""));
      return "diverged";
    }
    if (checkpointed) {
      const writeStart = performance.now();
      await checkpoint();
      sessionStart += performance.now() - writeStart; // checkpoint writing is not training time
    }
    if (stopping || settings.stop?.requested) {
      if (!checkpointed) await checkpoint();
      return "interrupted";
    }
  }
  return "finished";
}

/** The likelihood metrics from the evaluation sums: exact where the model has it, else bounds. */
function likelihoodMetrics(sums: EvalSums, dim: number): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {};
  const mean = (total: number) => total / sums.count;
  const n = sums.count; // recorded, since a suite may evaluate a slow model on fewer images
  if (sums.logProb !== null) {
    const nll = -mean(sums.logProb);
    metrics.nll_nats = metricValue("nll_nats", nll, { kind: "exact", n });
    metrics.bpd = metricValue("bpd", bitsPerDim(nll, dim), { kind: "exact", n });
  }
  if (sums.elbo !== null) {
    const negElbo = -mean(sums.elbo);
    metrics.elbo_nats = metricValue("elbo_nats", negElbo, { kind: "elbo", n });
    metrics.kl_nats = metricValue("kl_nats", mean(sums.kl!), { n });
    if (sums.iwae !== null) {
      const nll = -mean(sums.iwae);
      metrics.iwae_nats = metricValue("iwae_nats", nll, { kind: "iwae-k", k: sums.iwaeK, n });
    }
    if (sums.logProb === null) {
      const best = metrics.iwae_nats ?? metrics.elbo_nats;
      metrics.nll_nats = { ...best, unit: "nats" };
      metrics.bpd = { ...best, value: bitsPerDim(best.value, dim), unit: "bits/dim" };
    }
  }
  if (sums.reconBce !== null) {
    metrics.recon_bce = metricValue("recon_bce", mean(sums.reconBce));
    metrics.recon_mse = metricValue("recon_mse", sums.reconSquaredError! / (sums.count * dim));
  }
  return metrics;
}
