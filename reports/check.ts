/**
 * `check`: the regression gate. Compares each run's metrics with a committed baseline (per
 * metric: expected value, tolerance, direction), prints every metric with its status and fails
 * (exit 1) when a metric is worse than its tolerance allows or is missing. A better value
 * passes and says so. `--update-baseline` rewrites the baseline from the results, on purpose
 * only. Timing metrics are left out of baselines unless someone adds one by hand.
 */
import { oneLine, UsageError } from "../core/errors.ts";
import { METRICS } from "../metrics/metric.ts";
import { type CollectedRun, groupLabel, groupRuns } from "./collect.ts";
import { kindLabel } from "./tables.ts";

/** One metric of one baseline run. */
export interface BaselineMetric {
  expected: number;
  /** Absolute: the value may be this much worse than `expected` and still pass. */
  tolerance: number;
  better: "lower" | "higher" | "none";
  kind?: string;
  k?: number;
  /** Why the tolerance is what it is (kept by --update-baseline). */
  why?: string;
}

/** One (model, variant, seed) of a baseline. */
export interface BaselineRun {
  model: string;
  variant: string | null;
  seed: number;
  metrics: Record<string, BaselineMetric>;
}

/** How `--update-baseline` sets the tolerance of a metric: max(absolute, relative · |value|). */
export interface ToleranceRule {
  absolute?: number;
  relative?: number;
  why: string;
}

/** A baseline file. */
export interface Baseline {
  about?: string;
  suite: string;
  dataset: string;
  backend: string;
  /** Per metric name; `default` applies to metrics without a rule of their own. */
  tolerance_rules: Record<string, ToleranceRule>;
  runs: BaselineRun[];
}

/** What became of one baseline metric. */
export type CheckStatus = "better" | "ok" | "worse" | "missing" | "new";

/** One line of the check's table. */
export interface CheckLine {
  run: string;
  metric: string;
  expected: number | null;
  tolerance: number | null;
  actual: number | null;
  status: CheckStatus;
  note: string;
}

/** The outcome of a check. */
export interface CheckResult {
  lines: CheckLine[];
  passed: boolean;
}

const DEFAULT_RULE: ToleranceRule = {
  relative: 0.05,
  why: "5% of the value, until the metric's own seed-to-seed spread is measured: about two " +
    "seed standard deviations of the likelihood metrics of the ci suite (2% for vae-mlp)",
};

function fail(file: string, what: string): never {
  throw new UsageError(`${file}: malformed baseline: ${what}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parse and validate a baseline file's text; a problem ends in one line naming the file. */
export function parseBaseline(text: string, file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(file, `not JSON (${oneLine(error)})`);
  }
  if (!isObject(raw)) fail(file, "should be an object");
  for (const key of ["suite", "dataset", "backend"]) {
    if (typeof raw[key] !== "string") fail(file, `"${key}" should be a string`);
  }
  const rules = raw.tolerance_rules ?? {};
  if (!isObject(rules)) fail(file, `"tolerance_rules" should be an object`);
  for (const [name, rule] of Object.entries(rules)) {
    if (!isObject(rule)) fail(file, `"tolerance_rules.${name}" should be an object`);
    for (const key of ["absolute", "relative"]) {
      if (rule[key] !== undefined && !(typeof rule[key] === "number" && rule[key] >= 0)) {
        fail(file, `"tolerance_rules.${name}.${key}" should be a number ≥ 0`);
      }
    }
  }
  if (!Array.isArray(raw.runs)) fail(file, `"runs" should be an array`);
  raw.runs.forEach((run: unknown, i: number) => {
    const where = `runs[${i}]`;
    if (!isObject(run)) fail(file, `"${where}" should be an object`);
    if (typeof run.model !== "string") fail(file, `"${where}.model" should be a string`);
    if (run.variant !== null && run.variant !== undefined && typeof run.variant !== "string") {
      fail(file, `"${where}.variant" should be a string or null`);
    }
    if (!Number.isInteger(run.seed)) fail(file, `"${where}.seed" should be an integer`);
    if (!isObject(run.metrics)) fail(file, `"${where}.metrics" should be an object`);
    for (const [name, metric] of Object.entries(run.metrics)) {
      const at = `${where}.metrics.${name}`;
      if (!isObject(metric)) fail(file, `"${at}" should be an object`);
      if (typeof metric.expected !== "number") fail(file, `"${at}.expected" should be a number`);
      if (typeof metric.tolerance !== "number" || metric.tolerance < 0) {
        fail(file, `"${at}.tolerance" should be a number ≥ 0`);
      }
      if (metric.better !== "lower" && metric.better !== "higher" && metric.better !== "none") {
        fail(file, `"${at}.better" should be "lower", "higher" or "none"`);
      }
    }
  });
  return raw as unknown as Baseline;
}

function runName(run: { model: string; variant: string | null; seed: number }): string {
  return `${groupLabel(run)} seed ${run.seed}`;
}

function kindText(kind: string | undefined, k: number | undefined): string {
  if (!kind) return "";
  return kindLabel(kind as Parameters<typeof kindLabel>[0], k ?? null);
}

/** The newest run of each (model, variant, seed) of the baseline's suite, dataset and backend. */
function matchingRuns(runs: CollectedRun[], baseline: Baseline): Map<string, CollectedRun> {
  const selected = runs.filter((r) =>
    r.suite === baseline.suite && r.dataset === baseline.dataset &&
    r.backend === baseline.backend
  );
  const byName = new Map<string, CollectedRun>();
  for (const group of groupRuns(selected)) {
    for (const run of [...group.unfinished, ...group.finished]) byName.set(runName(run), run);
  }
  return byName;
}

/** Compare `runs` with `baseline`. */
export function checkRuns(runs: CollectedRun[], baseline: Baseline): CheckResult {
  const byName = matchingRuns(runs, baseline);
  const lines: CheckLine[] = [];
  for (const entry of baseline.runs) {
    const name = runName({ ...entry, variant: entry.variant ?? null });
    const run = byName.get(name);
    byName.delete(name);
    for (const [metric, base] of Object.entries(entry.metrics)) {
      const line: CheckLine = {
        run: name,
        metric,
        expected: base.expected,
        tolerance: base.tolerance,
        actual: null,
        status: "missing",
        note: "",
      };
      lines.push(line);
      if (!run) {
        line.note = "no run of this model and seed in the results";
        continue;
      }
      if (run.status !== "finished") {
        line.note = `the run ${run.status}`;
        continue;
      }
      const value = run.metrics[metric];
      if (!value) {
        line.note = "the run has no such metric";
        continue;
      }
      const baseKind = kindText(base.kind, base.k);
      const kind = kindText(value.kind, value.k);
      if (baseKind !== kind) {
        line.note = `kind changed from ${baseKind || "none"} to ${kind || "none"}`;
        continue;
      }
      line.actual = value.value;
      // How much worse than expected, in the metric's direction (negative: better).
      // A metric with no direction (a count, a spread) is worse whenever it moves.
      const diff = value.value - base.expected;
      const worseBy = base.better === "none"
        ? Math.abs(diff)
        : (base.better === "lower" ? 1 : -1) * diff;
      if (!Number.isFinite(value.value)) {
        line.status = "worse";
        line.note = "not a finite number";
      } else if (worseBy > base.tolerance) {
        line.status = "worse";
        line.note = base.better === "none"
          ? `changed by ${formatValue(diff)}`
          : `${base.better} is better; worse by ${formatValue(worseBy)}`;
      } else if (-worseBy > base.tolerance) {
        line.status = "better";
        line.note = `better by ${formatValue(-worseBy)}; --update-baseline records it`;
      } else {
        line.status = "ok";
      }
    }
    if (run?.status !== "finished") continue;
    for (const [metric, value] of Object.entries(run.metrics)) {
      if (metric in entry.metrics || METRICS[metric]?.timing) continue;
      lines.push({
        run: name,
        metric,
        expected: null,
        tolerance: null,
        actual: value.value,
        status: "new",
        note: "not in the baseline (not checked; --update-baseline adds it)",
      });
    }
  }
  for (const [name, run] of byName) {
    if (run.status !== "finished") continue;
    lines.push({
      run: name,
      metric: "*",
      expected: null,
      tolerance: null,
      actual: null,
      status: "new",
      note: "this run is not in the baseline (not checked)",
    });
  }
  const passed = lines.every((line) => line.status !== "worse" && line.status !== "missing");
  return { lines, passed };
}

function formatValue(value: number | null): string {
  if (value === null) return "—";
  if (!Number.isFinite(value)) return String(value);
  return Number(value.toPrecision(7)).toString();
}

/** The check's table as aligned plain text, one metric a line, with a closing verdict. */
export function checkTable(result: CheckResult): string {
  const header = ["run", "metric", "expected", "tolerance", "actual", "status", "note"];
  const rows = result.lines.map((line) => [
    line.run,
    line.metric,
    formatValue(line.expected),
    line.tolerance === null ? "—" : `±${formatValue(line.tolerance)}`,
    formatValue(line.actual),
    line.status,
    line.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")
      .trimEnd();
  const counts = (["ok", "better", "worse", "missing", "new"] as CheckStatus[])
    .map((status) => `${result.lines.filter((l) => l.status === status).length} ${status}`)
    .join(", ");
  const verdict = result.passed
    ? (result.lines.some((l) => l.status === "better")
      ? "passed; some metrics are better than the baseline"
      : "passed")
    : "FAILED: a metric is worse than its tolerance allows, or missing";
  return [format(header), ...rows.map(format), "", `check: ${counts} — ${verdict}`].join("\n");
}

function toleranceFor(
  metric: string,
  value: number,
  rules: Record<string, ToleranceRule>,
): number {
  const rule = rules[metric] ?? rules.default ?? DEFAULT_RULE;
  const tolerance = Math.max(rule.absolute ?? 0, (rule.relative ?? 0) * Math.abs(value));
  return Number(tolerance.toPrecision(3));
}

/**
 * A new baseline from the finished runs, keeping `previous`'s tolerance of a metric where it
 * had one, else applying its tolerance rules. Timing metrics are left out unless `previous`
 * already checks them.
 */
export function updatedBaseline(
  runs: CollectedRun[],
  previous: Baseline,
): Baseline {
  const byName = matchingRuns(runs, previous);
  const old = new Map(previous.runs.map((r) => [runName({ ...r, variant: r.variant ?? null }), r]));
  const entries: BaselineRun[] = [];
  for (const [name, run] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    if (run.status !== "finished") {
      throw new UsageError(
        `--update-baseline: ${run.id} ${run.status}; a baseline is made from finished runs only`,
      );
    }
    const before = old.get(name);
    const metrics: Record<string, BaselineMetric> = {};
    for (
      const [metric, value] of Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b))
    ) {
      const kept = before?.metrics[metric];
      if (METRICS[metric]?.timing && !kept) continue;
      if (!Number.isFinite(value.value)) continue;
      const rule = previous.tolerance_rules[metric] ?? previous.tolerance_rules.default ??
        DEFAULT_RULE;
      metrics[metric] = {
        expected: value.value,
        tolerance: kept?.tolerance ?? toleranceFor(metric, value.value, previous.tolerance_rules),
        better: value.better,
        ...(value.kind ? { kind: value.kind } : {}),
        ...(value.k ? { k: value.k } : {}),
        why: kept ? kept.why : rule.why,
      };
      if (metrics[metric].why === undefined) delete metrics[metric].why;
    }
    entries.push({ model: run.model, variant: run.variant, seed: run.seed, metrics });
  }
  if (entries.length === 0) {
    throw new UsageError(
      `--update-baseline: no finished run of suite ${previous.suite} on ${previous.dataset} ` +
        `(backend ${previous.backend}) in the results`,
    );
  }
  return { ...previous, runs: entries };
}

/** The header of a new baseline: the one suite, dataset and backend of the finished runs. */
export function newBaseline(runs: CollectedRun[], file: string): Baseline {
  const keys = new Set(
    runs.filter((r) => r.status === "finished")
      .map((r) => JSON.stringify([r.suite, r.dataset, r.backend])),
  );
  if (keys.size !== 1) {
    throw new UsageError(
      `--update-baseline: ${file} does not exist and the results hold ${keys.size} ` +
        "(suite, dataset, backend) combinations; a new baseline needs exactly one",
    );
  }
  const [suite, dataset, backend] = JSON.parse([...keys][0]);
  return {
    suite,
    dataset,
    backend,
    tolerance_rules: {
      params: { absolute: 0, why: "an exact count: any change is an architecture change" },
      default: DEFAULT_RULE,
    },
    runs: [],
  };
}

/** `value` rounded up to two significant digits (a tolerance never shrinks by rounding). */
function ceilTwoDigits(value: number): number {
  if (value <= 0) return 0;
  const scale = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Number((Math.ceil(value / scale - 1e-9) * scale).toPrecision(2));
}

/**
 * A baseline whose expected values are the runs of seed `seed` and whose tolerances come from
 * the seed-to-seed spread: each metric's tolerance is `factor` × its sample standard deviation
 * over every seed of that (model, variant) in the results (rounded up to two digits). A metric
 * identical over the seeds (a parameter count, a closed-form fit) gets tolerance 0: only a
 * change of the code moves it. Timing and non-finite metrics are left out. Needs ≥ 2 seeds.
 */
export function baselineFromSpread(
  runs: CollectedRun[],
  header: Baseline,
  seed: number,
  factor = 2,
): Baseline {
  const selected = runs.filter((r) =>
    r.suite === header.suite && r.dataset === header.dataset && r.backend === header.backend
  );
  const entries: BaselineRun[] = [];
  for (const group of groupRuns(selected)) {
    if (group.unfinished.length) {
      throw new UsageError(
        `${groupLabel(group)}: ${group.unfinished[0].id} did not finish; a baseline is made ` +
          "from finished runs only",
      );
    }
    // A row computed from the data alone (family "real-data": a Parzen or FID reference) is
    // not trained and not seeded: one run, whose values only a change of the code moves.
    const fromData = group.finished.length === 1 && group.finished[0].record.family === "real-data";
    const reference = fromData ? group.finished[0] : group.finished.find((r) => r.seed === seed);
    const seeds = group.finished.map((r) => r.seed);
    if (!reference || (seeds.length < 2 && !fromData)) {
      throw new UsageError(
        `${groupLabel(group)}: needs seed ${seed} and at least one other seed (has ${seeds})`,
      );
    }
    const metrics: Record<string, BaselineMetric> = {};
    const names = Object.keys(reference.metrics).sort((a, b) => a.localeCompare(b));
    for (const metric of names) {
      const value = reference.metrics[metric];
      if (METRICS[metric]?.timing || !Number.isFinite(value.value)) continue;
      const values = group.finished.map((r) => r.metrics[metric]?.value);
      if (values.some((v) => v === undefined || !Number.isFinite(v))) continue;
      const mean = values.reduce((a, b) => a + b!, 0) / values.length;
      const std = Math.sqrt(
        values.reduce((a, b) => a + (b! - mean) ** 2, 0) / (values.length - 1),
      );
      const seedList = seeds.join(", ");
      metrics[metric] = {
        expected: value.value,
        tolerance: fromData ? 0 : ceilTwoDigits(factor * std),
        better: value.better,
        ...(value.kind ? { kind: value.kind } : {}),
        ...(value.k ? { k: value.k } : {}),
        why: fromData
          ? "computed from the data, not trained: only a change of the code moves it"
          : std === 0
          ? `identical over seeds ${seedList}: only a change of the code moves it`
          : `${factor} x std over seeds ${seedList} (${Number(std.toPrecision(3))}), rounded up`,
      };
    }
    entries.push({ model: group.model, variant: group.variant, seed: reference.seed, metrics });
  }
  if (entries.length === 0) {
    throw new UsageError(
      `no finished run of suite ${header.suite} on ${header.dataset} (backend ${header.backend})`,
    );
  }
  entries.sort((a, b) => groupLabel(a).localeCompare(groupLabel(b)));
  return { ...header, runs: entries };
}
