/**
 * Planning a suite: each (entry, seed) becomes a {@link RunPlan} with its options and budget
 * resolved, and with `--resume` each plan is matched against the run folders already under
 * `--out` by its identity (suite, model, variant, seed, resolved config, dataset bytes, backend).
 * Every `run.json` and checkpoint that resume would use is validated here, before any training.
 */
import { join } from "node:path";
import type { BackendInfo } from "../core/backend.ts";
import { UsageError } from "../core/errors.ts";
import { checkModelFits, readCheckpoint, type TrainingCheckpoint } from "../core/checkpoint.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { inputKindOf, type ModelSpec } from "../models/model.ts";
import {
  type MetricsFile,
  readMetricsFile,
  readRunRecord,
  removeTempFilesSync,
  RUN_FILES,
  type RunConfig,
  type RunRecord,
} from "./record.ts";
import { evalCountOf, type RunPlan, type Suite, type SuiteEntry } from "./suites.ts";
import { resolveEntry, type RunOverrides, validateOverrides } from "./overrides.ts";
import { getModel } from "../models/registry.ts";
import { checkRunState, createModel, trainingDataset } from "./train_state.ts";

export type { RunPlan } from "./suites.ts";

/**
 * Resolve a suite entry into a plan. `overrides` are the command line's changes; `trainCount`
 * (training images) is needed only for `--epochs` and `--budget`.
 */
export function planRun(
  suite: Suite,
  entry: SuiteEntry,
  spec: ModelSpec,
  seed: number,
  overrides: RunOverrides = {},
  trainCount?: number,
): RunPlan {
  const plan = {
    suite,
    entry,
    spec,
    seed,
    ...resolveEntry(suite, entry, spec, overrides, trainCount),
  };
  checkProtocolFits(plan);
  return plan;
}

/** A training protocol the plan's model can follow, or a one-line error naming the suite. */
function checkProtocolFits(plan: RunPlan): void {
  const training = plan.entry.training;
  if (!training) return;
  const where = `${plan.suite.source ?? `suite ${plan.suite.name}`}: ${plan.spec.name} training`;
  if (training.binarization === "static" && inputKindOf(plan.spec, plan.options) !== "binary") {
    throw new UsageError(`${where}: static binarization needs binary input`);
  }
  if (training.earlyStopping && !plan.spec.capabilities.includes("exact-likelihood")) {
    throw new UsageError(
      `${where}: early stopping needs an exact likelihood on the validation split`,
    );
  }
}

/** The entries of `suite` for `models` (all of them when null), in the suite's order. */
export function suiteEntries(suite: Suite, models: string[] | null): SuiteEntry[] {
  return suite.entries.filter((e) => !models || models.includes(e.model));
}

/**
 * Every (entry, seed) of a suite as a plan, in suite order then seed order, with the command
 * line's overrides resolved (checked first, one line naming the flag or the suite file).
 */
export function planSuite(
  suite: Suite,
  models: string[] | null,
  seeds: number[],
  overrides: RunOverrides,
  trainCount: number,
): RunPlan[] {
  const entries = suiteEntries(suite, models);
  validateOverrides(suite, entries, overrides);
  return entries.flatMap((entry) =>
    seeds.map((seed) => planRun(suite, entry, getModel(entry.model), seed, overrides, trainCount))
  );
}

/** The run's folder name: model, variant, dataset, seed and the suite's start time. */
export function runId(plan: RunPlan, dataset: Dataset, stamp: string): string {
  const variant = plan.entry.variant ? `-${plan.entry.variant}` : "";
  return `${plan.spec.name}${variant}-${dataset.name}-seed${plan.seed}-${stamp}`;
}

/** What a run is asked to do, resolved once (recorded in run.json; part of its identity). */
export function runConfig(plan: RunPlan, dataset: Dataset): RunConfig {
  // Keys in the order parseRunRecord reads them back, so identities compare as strings.
  return {
    steps: plan.steps,
    input: inputKindOf(plan.spec, plan.options),
    options: plan.options,
    budget: plan.budget,
    eval_count: evalCountOf(plan.suite, plan.entry) ?? dataset.test.count,
    iwae_k: plan.suite.iwaeK,
    sample_count: plan.suite.sampleCount,
    feature_samples: plan.entry.featureSamples ?? plan.suite.featureSamples ?? 0,
    kid_subsets: plan.suite.kidSubsets ?? 10,
    parzen_samples: plan.suite.parzenSamples ?? 0,
    recon_count: plan.suite.reconCount ?? 0,
    ais_count: plan.suite.aisCount ?? 0,
    // Only when given, so that the runs of entries without one keep their identity.
    ...(plan.entry.training ? { training: plan.entry.training } : {}),
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
    record.provenance.dataset.name,
    record.provenance.dataset.sha256,
    record.provenance.backend,
  ]);
}

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

/** Every run folder under `runsDir` that has a `run.json`, each validated field by field. */
async function priorRuns(runsDir: string): Promise<PriorRun[]> {
  const runs: PriorRun[] = [];
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(runsDir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    throw new UsageError(`${runsDir}: cannot read it (${(error as Error).message})`);
  }
  for (const name of names.sort()) {
    // The real-data rows (benchmarks/evaluations/real_data.ts) are not runs.
    if (name.startsWith("real-data-")) continue;
    const dir = join(runsDir, name);
    const record = await readRunRecord(dir);
    if (!record) continue;
    runs.push({ dir, record });
  }
  // Newest first, so that the latest attempt of a run wins.
  return runs.sort((a, b) => b.record.started_at.localeCompare(a.record.started_at));
}

/**
 * Remove the temp files of writes cut short (a killed process) in the folder of one of this
 * process's own runs, and say so. Only there: the other shards of a Slurm array share `--out`,
 * and the temp files in their runs' folders are writes in progress.
 */
function removeOrphans(dir: string, quiet: boolean): void {
  const removed = removeTempFilesSync(dir);
  if (removed.length && !quiet) {
    console.error(`genbench: removed ${removed.length} unfinished temp file(s) in ${dir}`);
  }
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
 * Every record and checkpoint is read and checked here, before any training.
 */
export async function planJobs(
  plans: RunPlan[],
  dataset: Dataset,
  backend: BackendInfo,
  runsDir: string,
  stamp: string,
  resume: boolean,
  quiet = false,
): Promise<Job[]> {
  const prior = resume ? await priorRuns(runsDir) : [];
  const jobs: Job[] = [];
  for (const plan of plans) {
    const identity = runIdentity(plan, dataset, backend);
    const matches = prior.filter((run) => recordIdentity(run.record) === identity);
    for (const run of matches) removeOrphans(run.dir, quiet);
    const done = matches.find((run) =>
      run.record.status === "finished" || run.record.status === "diverged"
    );
    if (done) {
      const path = join(done.dir, RUN_FILES.metrics);
      const result = await readMetricsFile(done.dir);
      if (result === null) throw new UsageError(`${path}: missing (its run.json says finished)`);
      if (result.status !== done.record.status) {
        throw new UsageError(`${path}: does not match its run.json`);
      }
      jobs.push({ action: "skip", plan, dir: done.dir, result });
      continue;
    }
    const latest = matches[0];
    if (!latest) {
      jobs.push({ action: "start", plan, dir: join(runsDir, runId(plan, dataset, stamp)) });
      continue;
    }
    const path = join(latest.dir, RUN_FILES.checkpoint);
    if (!(await exists(path))) {
      jobs.push({ action: "start", plan, dir: latest.dir });
      continue;
    }
    const checkpoint = await readCheckpoint(path);
    checkRunState(checkpoint, plan, trainingDataset(plan, dataset), identity, path);
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
