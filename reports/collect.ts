/**
 * Reading a results folder back: every run under `<dir>/runs/*` with its `metrics.json`,
 * `run.json`, `curves.jsonl` and the PNG files it saved. Files are parsed as JSON and checked
 * field by field (nothing is ever evaluated); a malformed file ends in one line naming it.
 * Runs that did not finish are kept, marked `diverged` or `interrupted`, never as finished.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import type { MetricValue } from "../metrics/metric.ts";
import {
  type CurvePoint,
  type EndStatus,
  parseCurves,
  parseMetricsFile,
  parseRunRecord,
  readRunFile,
  RUN_FILES,
} from "../benchmarks/record.ts";

export { parseCurves, parseMetricsFile } from "../benchmarks/record.ts";
export type { CurvePoint } from "../benchmarks/record.ts";

/**
 * What became of a run. `interrupted`: it stopped before its test metrics were written (Ctrl-C,
 * a crash, or still running); `--resume` may finish it.
 */
export type RunStatus = EndStatus;

/** A PNG the run saved (sample grid, latent views, ...). */
export interface RunImage {
  name: string;
  path: string;
}

/** One run read back from disk. */
export interface CollectedRun {
  id: string;
  dir: string;
  status: RunStatus;
  model: string;
  variant: string | null;
  dataset: string;
  suite: string;
  backend: string;
  seed: number;
  /** Finished runs: every metric; diverged runs: what was measured before stopping. */
  metrics: Record<string, MetricValue>;
  curves: CurvePoint[];
  images: RunImage[];
  startedAt: string | null;
  /** `run.json` as parsed (provenance, config), for display only. */
  record: Record<string, unknown>;
}

/** Everything under a results folder. */
export interface Collection {
  dir: string;
  runs: CollectedRun[];
}

/** Read one run folder. Returns null for a folder that holds no run at all. */
export async function collectRun(dir: string): Promise<CollectedRun | null> {
  const id = dir.split(/[\\/]/).filter(Boolean).pop()!;
  const runPath = join(dir, RUN_FILES.record);
  const runText = await readRunFile(runPath);
  const metricsPath = join(dir, RUN_FILES.metrics);
  const metricsText = await readRunFile(metricsPath);
  if (runText === null && metricsText === null) return null;
  if (runText === null) throw new UsageError(`${runPath}: missing (${metricsPath} exists)`);
  const record = parseRunRecord(runText, runPath, true);
  const base = {
    id,
    dir,
    model: record.model,
    variant: record.variant,
    suite: record.suite,
    seed: record.seed,
    startedAt: record.started_at,
    record: JSON.parse(runText) as Record<string, unknown>,
  };
  let status: RunStatus = "interrupted";
  let metrics: Record<string, MetricValue> = {};
  let datasetName = record.provenance.dataset.name;
  let backend = record.provenance.backend;
  if (metricsText !== null) {
    const file = parseMetricsFile(metricsText, metricsPath);
    const mismatch = (["model", "suite", "seed"] as const).find((key) => file[key] !== base[key]);
    if (mismatch) {
      throw new UsageError(
        `${metricsPath}: malformed: "${mismatch}" is ${JSON.stringify(file[mismatch])} but ` +
          `run.json says ${JSON.stringify(base[mismatch])}`,
      );
    }
    status = file.status;
    metrics = file.metrics;
    datasetName = file.dataset;
    backend = file.backend;
  }
  const curvesPath = join(dir, RUN_FILES.curves);
  const curvesText = await readRunFile(curvesPath);
  const curves = curvesText === null ? [] : parseCurves(curvesText, curvesPath);
  const images: RunImage[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.png$/i.test(entry.name)) {
      images.push({ name: entry.name, path: join(dir, entry.name) });
    }
  }
  images.sort((a, b) => a.name.localeCompare(b.name));
  return { ...base, status, metrics, dataset: datasetName, backend, curves, images };
}

/**
 * Every run under `<dir>/runs/`, sorted by suite, dataset, model, variant, seed and start time.
 * A missing folder or a malformed file ends in a one-line UsageError.
 */
export async function collectRuns(dir: string): Promise<Collection> {
  const runsDir = join(dir, "runs");
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(runsDir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`--results ${dir}: no runs/ folder there (run deno task bench first)`);
    }
    throw new UsageError(`--results ${dir}: cannot read it (${(error as Error).message})`);
  }
  const runs: CollectedRun[] = [];
  for (const name of names.sort()) {
    const run = await collectRun(join(runsDir, name));
    if (run) runs.push(run);
  }
  runs.sort((a, b) =>
    [a.suite, a.dataset, a.model, a.variant ?? "", String(a.seed).padStart(10, "0")].join("\0")
      .localeCompare(
        [b.suite, b.dataset, b.model, b.variant ?? "", String(b.seed).padStart(10, "0")].join(
          "\0",
        ),
      ) || (a.startedAt ?? "").localeCompare(b.startedAt ?? "")
  );
  return { dir, runs };
}

/** The key that groups runs into one table row: model, variant, dataset, suite and backend. */
export function groupKey(run: CollectedRun): string {
  return JSON.stringify([run.suite, run.dataset, run.model, run.variant, run.backend]);
}

/** A table row: the runs of one (model, variant, dataset, suite, backend). */
export interface RunGroup {
  key: string;
  suite: string;
  dataset: string;
  model: string;
  variant: string | null;
  backend: string;
  /** Finished runs, one per seed (the newest when a seed was run more than once). */
  finished: CollectedRun[];
  /** Runs that did not finish (diverged, interrupted), newest per seed. */
  unfinished: CollectedRun[];
  /** Older runs of a seed that a newer run of the same seed replaces. */
  superseded: CollectedRun[];
}

/** The label of a group: `model (variant)`. */
export function groupLabel(group: { model: string; variant: string | null }): string {
  return group.variant ? `${group.model} (${group.variant})` : group.model;
}

/**
 * Group runs into rows. When a seed was run more than once (two `bench` calls into one folder),
 * only its newest run counts, so a repeated seed never shrinks the spread over seeds.
 */
export function groupRuns(runs: CollectedRun[]): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  const newest = new Map<string, CollectedRun>();
  for (const run of runs) {
    const key = groupKey(run);
    if (!groups.has(key)) {
      groups.set(key, {
        key,
        suite: run.suite,
        dataset: run.dataset,
        model: run.model,
        variant: run.variant,
        backend: run.backend,
        finished: [],
        unfinished: [],
        superseded: [],
      });
    }
    const seedKey = `${key}\0${run.seed}`;
    const previous = newest.get(seedKey);
    if (!previous || (run.startedAt ?? "") >= (previous.startedAt ?? "")) {
      if (previous) groups.get(key)!.superseded.push(previous);
      newest.set(seedKey, run);
    } else {
      groups.get(key)!.superseded.push(run);
    }
  }
  for (const [seedKey, run] of newest) {
    const group = groups.get(seedKey.slice(0, seedKey.lastIndexOf("\0")))!;
    (run.status === "finished" ? group.finished : group.unfinished).push(run);
  }
  for (const group of groups.values()) {
    group.finished.sort((a, b) => a.seed - b.seed);
    group.unfinished.sort((a, b) => a.seed - b.seed);
  }
  return [...groups.values()];
}
