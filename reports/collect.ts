/**
 * Reading a results folder back: every run under `<dir>/runs/*` with its `metrics.json`,
 * `run.json`, `curves.jsonl` and the PNG files it saved. Files are parsed as JSON and checked
 * field by field (nothing is ever evaluated); a malformed file ends in one line naming it.
 * Runs that did not finish are kept, marked `diverged` or `interrupted`, never as finished.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { MAX_BYTES, readTextFileLimited } from "../core/files.ts";
import type { LikelihoodKind, MetricValue } from "../metrics/metric.ts";

/**
 * What became of a run. `interrupted`: it stopped before its test metrics were written (Ctrl-C,
 * a crash, or still running); `--resume` may finish it.
 */
export type RunStatus = "finished" | "diverged" | "interrupted";

/** One logged training step from `curves.jsonl`: `step` plus named numbers (null = not finite). */
export interface CurvePoint {
  step: number;
  values: Record<string, number | null>;
}

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

const STATUSES: readonly RunStatus[] = ["finished", "diverged", "interrupted"];

const KINDS: readonly LikelihoodKind[] = ["exact", "elbo", "iwae-k", "ais", "parzen"];

type Json = Record<string, unknown>;

/** Field checks that fail with one line naming the file and the field. */
class Checker {
  constructor(readonly file: string) {}

  fail(what: string): never {
    throw new UsageError(`${this.file}: malformed: ${what}`);
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

  optionalString(obj: Json, key: string): string | null {
    const value = obj[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== "string") this.fail(`"${key}" should be a string or null`);
    return value;
  }

  /** A number; JSON `null` stands for a value that was not finite (JSON cannot hold NaN). */
  number(obj: Json, key: string, where = key, nullable = false): number {
    const value = obj[key];
    if (nullable && value === null) return NaN;
    if (typeof value !== "number") this.fail(`"${where}" should be a number`);
    return value;
  }
}

function parseJson(text: string, check: Checker): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    check.fail(`not JSON (${(error as Error).message.split("\n")[0]})`);
  }
}

async function readText(path: string): Promise<string | null> {
  const limit = path.endsWith(".jsonl") ? MAX_BYTES.curves : MAX_BYTES.runJson;
  try {
    return await readTextFileLimited(path, limit, "results file");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof Deno.errors.NotFound) return null;
    throw new UsageError(`${path}: cannot read it (${(error as Error).message})`);
  }
}

/** Validate one metric value of `metrics.json`. */
function parseMetric(raw: unknown, name: string, check: Checker): MetricValue {
  const where = `metrics.${name}`;
  const obj = check.object(raw, `"${where}"`);
  const value = check.number(obj, "value", `${where}.value`, true);
  const unit = check.string(obj, "unit", `${where}.unit`);
  const better = check.string(obj, "better", `${where}.better`);
  if (better !== "lower" && better !== "higher") {
    check.fail(`"${where}.better" should be "lower" or "higher", not ${JSON.stringify(better)}`);
  }
  const metric: MetricValue = { value, unit, better: better as "lower" | "higher" };
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
  return metric;
}

/** Parse and validate the text of a `metrics.json`. Throws a one-line UsageError naming `file`. */
export function parseMetricsFile(text: string, file: string): {
  model: string;
  variant: string | null;
  dataset: string;
  suite: string;
  backend: string;
  seed: number;
  run_id: string;
  status: RunStatus;
  metrics: Record<string, MetricValue>;
} {
  const check = new Checker(file);
  const obj = check.object(parseJson(text, check), "the file");
  const status = check.string(obj, "status");
  if (!STATUSES.includes(status as RunStatus)) {
    check.fail(`"status" should be one of ${STATUSES.join(", ")}, not ${JSON.stringify(status)}`);
  }
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
    suite: check.string(obj, "suite"),
    backend: check.string(obj, "backend"),
    seed,
    run_id: check.string(obj, "run_id"),
    status: status as RunStatus,
    metrics,
  };
}

/** Parse `curves.jsonl`: one JSON object per line with a numeric `step`. */
export function parseCurves(text: string, file: string): CurvePoint[] {
  const points: CurvePoint[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const check = new Checker(`${file}:${i + 1}`);
    const obj = check.object(parseJson(lines[i], check), "the line");
    const step = check.number(obj, "step");
    const entries = Object.entries(obj).filter(([key]) => key !== "step");
    for (const [key, value] of entries) {
      if (value !== null && typeof value !== "number") {
        check.fail(`"${key}" should be a number or null`);
      }
    }
    const values = Object.fromEntries(entries) as Record<string, number | null>;
    points.push({ step, values });
  }
  return points;
}

/** Read one run folder. Returns null for a folder that holds no run at all. */
export async function collectRun(dir: string): Promise<CollectedRun | null> {
  const id = dir.split(/[\\/]/).filter(Boolean).pop()!;
  const runPath = join(dir, "run.json");
  const runText = await readText(runPath);
  const metricsPath = join(dir, "metrics.json");
  const metricsText = await readText(metricsPath);
  if (runText === null && metricsText === null) return null;
  if (runText === null) throw new UsageError(`${runPath}: missing (${metricsPath} exists)`);
  const check = new Checker(runPath);
  const record = check.object(parseJson(runText, check), "the file");
  const seed = check.number(record, "seed");
  const base = {
    id,
    dir,
    model: check.string(record, "model"),
    variant: check.optionalString(record, "variant"),
    suite: check.string(record, "suite"),
    seed,
    startedAt: check.optionalString(record, "started_at"),
    record,
  };
  const provenance = check.object(record.provenance, `"provenance"`);
  const dataset = check.object(provenance.dataset, `"provenance.dataset"`);
  let status: RunStatus = "interrupted";
  let metrics: Record<string, MetricValue> = {};
  let datasetName = check.string(dataset, "name", "provenance.dataset.name");
  let backend = check.string(provenance, "backend", "provenance.backend");
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
  const curvesPath = join(dir, "curves.jsonl");
  const curvesText = await readText(curvesPath);
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
