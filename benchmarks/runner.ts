/**
 * The runner: train → evaluate on the static test set → record, for one run. Each run writes
 * its folder `<out>/runs/<run-id>/` through the run record module (benchmarks/record.ts lists
 * the files). Planning and `--resume` matching are in plan.ts, the training state and its
 * checkpoint in train_state.ts, the loop in train.ts, signals in signals.ts and the
 * evaluations in evaluations.ts.
 */
import { join } from "node:path";
import type { BackendInfo } from "../core/backend.ts";
import { UsageError } from "../core/errors.ts";
import { provenance } from "../core/provenance.ts";
import { Progress } from "../core/progress.ts";
import { encodeWeights, restoreModel, type TrainingCheckpoint } from "../core/checkpoint.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { inputKindOf, parameterCount } from "../models/model.ts";
import { type MetricValue, metricValue } from "../metrics/metric.ts";
import {
  type EndStatus,
  json,
  type MetricsFile,
  removeTempFilesSync,
  RUN_FILES,
  type RunRecord,
  type RunStatus,
  saveJsonSync,
  saveRunFile,
} from "./record.ts";
import { type Job, runConfig, runIdentity, type RunPlan } from "./plan.ts";
import {
  batchSizeOf,
  checkpointStep,
  createModel,
  initialState,
  RECORDED_STREAMS,
  restoreState,
  trainingDataset,
  type TrainState,
  writeCheckpoint,
} from "./train_state.ts";
import { DEFAULT_CHECKPOINT_EVERY, trainModel } from "./train.ts";
import { RunInterrupted, type StopRequest } from "./signals.ts";
import { evaluateModel } from "./evaluations.ts";

export { DEFAULT_CHECKPOINT_EVERY } from "./train.ts";
export { RunInterrupted, StopRequest } from "./signals.ts";
export { type Job, planJobs, planRun, runIdentity, type RunPlan } from "./plan.ts";
export type { MetricsFile, RunRecord, RunStatus } from "./record.ts";

/** The file of a run's latest checkpoint; it exists only while the run is unfinished. */
export const CHECKPOINT_FILE = RUN_FILES.checkpoint;

/** Settings of one run that do not change its results. */
export interface RunSettings {
  quiet?: boolean;
  /** Write a checkpoint every this many steps (0: only at the end of training and on a stop). */
  checkpointEvery?: number;
  /** Signal handling; without it a run cannot be interrupted gracefully. */
  stop?: StopRequest;
  /** Continue from this checkpoint (of the run in `runDir`) instead of starting. */
  resume?: { record: RunRecord; checkpoint: TrainingCheckpoint };
}

/** The run's name in messages: `[model (variant) seed N]`. */
function label(plan: RunPlan): string {
  const variant = plan.entry.variant ? ` (${plan.entry.variant})` : "";
  return `[${plan.spec.name}${variant} seed ${plan.seed}]`;
}

/** How far a run goes, for messages: `40` steps, or `60 s` under a seconds budget. */
function budgetText(plan: RunPlan): string {
  return plan.steps === null && plan.budget && "seconds" in plan.budget
    ? `${plan.budget.seconds} s`
    : String(plan.steps);
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
        `${checkpointStep(job.checkpoint)}/${budgetText(job.plan)}`,
    );
    return await runOne(job.plan, dataset, backend, job.dir, {
      ...settings,
      resume: { record: job.record, checkpoint: job.checkpoint },
    });
  }
  return await runOne(job.plan, dataset, backend, job.dir, settings);
}

function metricsFile(
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
  id: string,
  status: EndStatus,
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
  const stop = settings.stop;
  if (stop?.requested) {
    throw new RunInterrupted(
      `stopped before ${label(plan)} (run the same command with --resume to continue)`,
      stop.code,
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
  const runJson = join(runDir, RUN_FILES.record);
  await saveRunFile(runJson, json(record));
  if (stop) {
    // A second signal exits without waiting: say so in the records (the last checkpoint, if
    // any, is on disk and --resume continues from it) and remove the temp files of writes that
    // the exit cuts short.
    stop.onExit = () => {
      saveJsonSync(
        join(runDir, RUN_FILES.metrics),
        metricsFile(plan, dataset, backend, id, "interrupted", {}),
      );
      saveJsonSync(runJson, { ...record, status: "interrupted" });
      removeTempFilesSync(runDir);
    };
  }

  const model = createModel(plan, dataset);
  const trainData = trainingDataset(plan, dataset);
  const batchSize = batchSizeOf(plan, trainData);
  try {
    let state: TrainState;
    if (settings.resume) {
      const { checkpoint } = settings.resume;
      await restoreModel(checkpoint, model, join(runDir, RUN_FILES.checkpoint));
      state = restoreState(checkpoint);
    } else {
      state = initialState(runIdentity(plan, dataset, backend), plan.seed, trainData);
    }
    const progress = new Progress(label(plan), plan.steps ?? Infinity, settings.quiet);
    const recordProgress = () => {
      record.steps_done = state.step;
      record.images_done = state.step * batchSize;
    };
    const outcome = await trainModel(model, state, {
      plan,
      dataset: trainData,
      runDir,
      progress,
      checkpointEvery: settings.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
      stop,
      label: label(plan),
      replay: backend.replay !== false,
      // Each checkpoint also updates run.json, so that a killed run shows how far it got.
      checkpoint: async () => {
        await writeCheckpoint(runDir, model, state);
        recordProgress();
        await saveRunFile(runJson, json(record));
      },
    });
    recordProgress();
    const finish = async (status: RunStatus) => {
      record.status = status;
      record.finished_at = status === "interrupted" ? null : new Date().toISOString();
      record.wall_seconds = previousWall + (performance.now() - wallStart) / 1000;
      await saveRunFile(runJson, json(record));
    };

    if (outcome === "interrupted") {
      const partial = metricsFile(plan, dataset, backend, id, "interrupted", {
        params: metricValue("params", parameterCount(model)),
      });
      await saveRunFile(join(runDir, RUN_FILES.metrics), json(partial));
      await finish("interrupted");
      throw new RunInterrupted(
        `interrupted ${label(plan)} at step ${state.step}/${budgetText(plan)}; checkpoint ` +
          `saved in ${runDir} (run the same command with --resume to continue)`,
        stop?.code,
      );
    }
    await saveRunFile(join(runDir, RUN_FILES.weights), await encodeWeights(model.weights()));
    const metrics = outcome === "diverged" ? {} : await evaluateModel({
      spec: plan.spec,
      model,
      dataset,
      kind: inputKindOf(plan.spec, plan.options),
      config: runConfig(plan, dataset),
      streams: state.streams,
      runDir,
      save: saveRunFile,
    });
    metrics.params = metricValue("params", parameterCount(model));
    metrics.train_seconds = metricValue("train_seconds", state.seconds);
    metrics.train_img_per_s = metricValue(
      "train_img_per_s",
      (state.step * batchSize) / Math.max(state.seconds, 1e-9),
    );
    const file = metricsFile(plan, dataset, backend, id, outcome, metrics);
    await saveRunFile(join(runDir, RUN_FILES.metrics), json(file));
    await finish(outcome);
    // A finished or diverged run is final: its checkpoint is no longer needed.
    await Deno.remove(join(runDir, RUN_FILES.checkpoint)).catch(() => {});
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
    streams: RECORDED_STREAMS,
    config: runConfig(plan, dataset),
    provenance: await provenance(backend, dataset),
    started_at: new Date().toISOString(),
    steps_done: 0,
    images_done: 0,
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
