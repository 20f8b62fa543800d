/**
 * The table model every report format is drawn from (tables.md, tables.tex, tables.csv,
 * index.html and summary.md): per (suite, dataset) one table per question — likelihood, sample
 * quality, reconstruction, cost, other — each with its rows ranked by the metric that answers
 * the question. Each cell is mean ± std over seeds with a Student-t 95% interval.
 *
 * Likelihoods are ranked within their kind only (exact, IWAE-k, ELBO, AIS, Parzen): a bound and
 * an exact value never compete. A cell averaged over fewer test images than the full test set
 * carries that count. Bold ("best") goes to the best value of a column within a block, by the
 * metric's direction; metrics without one ("none": spreads, counts, hyper-parameters) get none.
 */
import { type Direction, type LikelihoodKind, METRICS } from "../metrics/metric.ts";
import { MODELS } from "../models/registry.ts";
import { type CollectedRun, groupLabel, type RunGroup } from "./collect.ts";
import { metricName, metricOrder, type Question, QUESTION_TEXT, QUESTIONS } from "./names.ts";
import { type SeedStats, seedStats } from "./stats.ts";

/** One column: a metric (of any kind in the likelihood table, where the block gives it). */
export interface Column {
  id: string;
  metric: string;
  question: Question;
  /** The value's unit as recorded. */
  unit: string;
  better: Direction;
  /** Decimal places shown. */
  decimals: number;
  /** Readable name, e.g. `−ELBO`. */
  name: string;
  /** The unit shown in the heading ("" for none). */
  unitLabel: string;
  /** Plain-text heading, e.g. `−ELBO (nats) ↓`. */
  title: string;
  /** LaTeX name and unit (text mode), e.g. `$-$ELBO` and `nats`. */
  latexName: string;
  latexUnit: string;
}

/** One cell: statistics over seeds (null where no finished run has the metric). */
export interface Cell {
  stats: SeedStats | null;
  best: boolean;
  kind: LikelihoodKind | null;
  k: number | null;
  /** Test images averaged, where fewer than the full test set. */
  subset: number | null;
  /** The seed of that subset (datasets/subset.ts); absent in older results, which used the first n. */
  subsetSeed?: number | null;
}

/** One row of a table: a (model, variant, backend) group. */
export interface Row {
  group: RunGroup;
  label: string;
  family: string;
  cells: Record<string, Cell>;
}

/** Rows ranked together (in the likelihood table: one kind of estimate). */
export interface Block {
  kind: LikelihoodKind | null;
  k: number | null;
  /** e.g. "Exact likelihood"; "" for a table of one block. */
  title: string;
  rows: Row[];
}

/** A real-vs-real reference row (the floor of a sample-quality metric). */
export interface FloorRow {
  label: string;
  cells: Record<string, Cell>;
}

/** One question's table. */
export interface Section {
  question: Question;
  title: string;
  what: string;
  columns: Column[];
  blocks: Block[];
  /** The column that ranks the rows, or null where they are listed by name. */
  rankedBy: Column | null;
  floor: FloorRow | null;
}

/** Every question's table of one (suite, dataset). */
export interface Table {
  suite: string;
  dataset: string;
  backends: string[];
  /** Size of the full test set, where the runs record it. */
  testCount: number | null;
  rows: Row[];
  sections: Section[];
}

const UNIT_DECIMALS: Record<string, number> = {
  nats: 2,
  "bits/dim": 4,
  count: 0,
  s: 1,
  "img/s": 0,
  "per pixel": 4,
  dB: 2,
  fraction: 4,
  unitless: 4,
  classes: 3,
  ratio: 3,
  "pixel/255": 3,
};

const KIND_ORDER: LikelihoodKind[] = ["exact", "iwae-k", "elbo", "ais", "parzen"];

/** The label of a likelihood kind, e.g. `IWAE-10`. */
export function kindLabel(kind: LikelihoodKind, k: number | null): string {
  const labels = { exact: "exact", elbo: "ELBO", ais: "AIS", parzen: "Parzen" };
  return kind === "iwae-k" ? `IWAE-${k ?? "k"}` : labels[kind];
}

const KIND_TITLES: Record<LikelihoodKind, string> = {
  exact: "Exact likelihood",
  "iwae-k": "Importance-weighted bound",
  elbo: "ELBO bound",
  ais: "AIS estimate",
  parzen: "Parzen-window estimate",
};

/** What the kinds mean, for the note under the likelihood table. */
export const KIND_NOTE = "Exact: the model's exact likelihood. IWAE-k and ELBO: upper bounds " +
  "on the NLL (k importance samples), never exact values. AIS, Parzen: estimates.";

/** The metric's direction: its definition's where genbench knows it, else the value's. */
function direction(metric: string, recorded: Direction): Direction {
  return METRICS[metric]?.better ?? recorded;
}

function familyOf(group: RunGroup): string {
  const recorded = [...group.finished, ...group.unfinished][0]?.record.family;
  if (typeof recorded === "string" && recorded !== "test") return recorded;
  return MODELS.find((m) => m.name === group.model)?.family ?? "other";
}

function testCountOf(runs: CollectedRun[]): number | null {
  const counts = runs.map((run) => {
    const provenance = run.record.provenance as { dataset?: { test?: unknown } } | undefined;
    return provenance?.dataset?.test;
  }).filter((n): n is number => typeof n === "number" && n > 0);
  return counts.length ? Math.max(...counts) : null;
}

function mean(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

function makeColumn(metric: string, unit: string, better: Direction, means: number[]): Column {
  const names = metricName(metric, unit);
  let decimals = UNIT_DECIMALS[unit];
  if (decimals === undefined) {
    // Four significant digits of the largest magnitude in the column.
    const largest = Math.max(1e-12, ...means.filter(Number.isFinite).map(Math.abs));
    decimals = Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(largest))));
  }
  const arrow = better === "lower" ? " ↓" : better === "higher" ? " ↑" : "";
  const unitText = names.unit && !names.plain.endsWith(names.unit) ? ` (${names.unit})` : "";
  return {
    id: metric,
    metric,
    question: names.question,
    unit,
    better,
    decimals,
    name: names.plain,
    unitLabel: names.unit,
    title: `${names.plain}${unitText}${arrow}`,
    latexName: names.latex,
    latexUnit: unitText ? names.unit : "",
  };
}

/** A cell of `metric` over the finished runs of a group (one kind only: the first run's). */
function makeCell(runs: CollectedRun[], metric: string, full: number | null): Cell {
  const values = runs.map((r) => r.metrics[metric]).filter((v) => v !== undefined);
  if (values.length === 0) return { stats: null, best: false, kind: null, k: null, subset: null };
  const { kind = null, k = null } = values[0];
  const same = values.filter((v) => (v.kind ?? null) === kind && (v.k ?? null) === k);
  const counts = same.map((v) => v.n).filter((n): n is number => typeof n === "number");
  const n = counts.length ? Math.min(...counts) : null;
  const subset = n !== null && full !== null && n < full ? n : null;
  return {
    stats: seedStats(same.map((v) => v.value)),
    best: false,
    kind,
    k,
    subset,
    subsetSeed: subset === null ? null : (same[0].subset_seed ?? null),
  };
}

/** The value of a cell as the reader sees it (rounded to the column's decimals). */
function shown(cell: Cell | undefined, column: Column): number | null {
  const m = cell?.stats?.mean;
  return m === undefined || !Number.isFinite(m) ? null : Number(m.toFixed(column.decimals));
}

function markBest(block: Block, column: Column): void {
  if (column.better === "none") return;
  const cells = block.rows.map((r) => r.cells[column.id]).filter((c) => shown(c, column) !== null);
  if (cells.length < 2) return;
  const values = cells.map((c) => shown(c, column)!);
  const best = column.better === "lower" ? Math.min(...values) : Math.max(...values);
  for (const cell of cells) if (shown(cell, column) === best) cell.best = true;
}

/** Rows ranked by `column` (best first); rows without it last, by name. */
function rank(rows: Row[], column: Column | null): Row[] {
  const sign = column?.better === "higher" ? -1 : 1;
  const key = (row: Row) => (column ? shown(row.cells[column.id], column) : null);
  return [...rows].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (x !== null && y !== null && x !== y) return sign * (x - y);
    if ((x === null) !== (y === null)) return x === null ? 1 : -1;
    return a.label.localeCompare(b.label);
  });
}

function likelihoodBlocks(rows: Row[], columns: Column[]): Block[] {
  const blocks = new Map<string, Block>();
  const primary = (row: Row) =>
    ["nll_nats", "ais_ll", "parzen_ll"].find((m) => row.cells[m]?.stats) ?? null;
  for (const row of rows) {
    const metric = primary(row);
    if (!metric) continue;
    const { kind, k } = row.cells[metric];
    const key = `${kind}/${k}`;
    if (!blocks.has(key)) {
      const title = kind ? `${KIND_TITLES[kind]}${kind === "iwae-k" ? ` (k = ${k})` : ""}` : "";
      blocks.set(key, { kind, k, title: title || "Likelihood of unrecorded kind", rows: [] });
    }
    blocks.get(key)!.rows.push(row);
  }
  const order = (b: Block) => (b.kind ? KIND_ORDER.indexOf(b.kind) : KIND_ORDER.length);
  return [...blocks.values()].sort((a, b) => order(a) - order(b) || (a.k ?? 0) - (b.k ?? 0))
    .map((block) => {
      const by = columns.find((c) => block.rows.some((r) => r.cells[c.id]?.stats)) ?? null;
      return { ...block, rows: rank(block.rows, by) };
    });
}

/** Sample-quality metrics ranked by the first of these that the table has. */
const RANK_BY: Partial<Record<Question, string[]>> = {
  samples: ["fid", "kid", "precision", "is_score"],
  reconstruction: ["recon_mse", "recon_bce", "recon_ssim"],
  cost: ["train_seconds", "train_img_per_s"],
};

/** Names of the numeric fields of a metric value that hold its real-vs-real floor. */
const FLOOR_FIELDS = ["floor", "real_vs_real"];

/**
 * The real-data row of a table: from a group whose model is one of REAL_MODELS (never ranked),
 * or, for sample quality, from a numeric `floor`/`real_vs_real` field on the models' values.
 */
function floorRow(
  table: Table,
  question: Question,
  columns: Column[],
  realGroups: Row[],
): FloorRow | null {
  // Each reference has its own real-data group (test-grey, test-binary): per column, the one that
  // has the metric.
  const reals = realGroups.filter((r) => columns.some((c) => r.cells[c.id]?.stats));
  const label = question === "samples" ? "real vs real (floor)" : "real data (reference)";
  if (reals.length) {
    const cells = Object.fromEntries(columns.map((c) => {
      const real = reals.find((r) => r.cells[c.id]?.stats) ?? reals[0];
      return [c.id, real.cells[c.id]];
    }));
    return { label, cells };
  }
  if (question !== "samples") return null;
  const cells: Record<string, Cell> = {};
  let found = false;
  for (const column of columns) {
    const values = table.rows.flatMap((row) => row.group.finished).map((run) => {
      const value = run.metrics[column.metric] as unknown as Record<string, unknown> | undefined;
      const field = FLOOR_FIELDS.find((f) => typeof value?.[f] === "number");
      return field ? value![field] as number : undefined;
    }).filter((v): v is number => v !== undefined);
    cells[column.id] = {
      stats: values.length ? seedStats(values) : null,
      best: false,
      kind: null,
      k: null,
      subset: null,
    };
    found ||= values.length > 0;
  }
  return found ? { label, cells } : null;
}

/** Model names of a real-data row (real images scored as if they were samples). */
const REAL_MODELS = new Set(["real", "real-data", "real-vs-real", "data"]);

function buildTable(members: RunGroup[]): Table {
  const runs = members.flatMap((g) => g.finished);
  // The full test set: as run.json records it, else the largest count any metric averaged.
  const full = testCountOf(runs) ??
    (Math.max(0, ...runs.flatMap((r) => Object.values(r.metrics).map((m) => m.n ?? 0))) || null);
  const samples = new Map<string, { unit: string; better: Direction }>();
  for (const run of runs) {
    for (const [metric, value] of Object.entries(run.metrics)) {
      if (!samples.has(metric)) {
        samples.set(metric, { unit: value.unit, better: direction(metric, value.better) });
      }
    }
  }
  const allRows: Row[] = members.map((group) => ({
    group,
    label: groupLabel(group),
    family: familyOf(group),
    cells: Object.fromEntries(
      [...samples.keys()].map((metric) => [metric, makeCell(group.finished, metric, full)]),
    ),
  }));
  const columns = [...samples].map(([metric, { unit, better }]) =>
    makeColumn(metric, unit, better, allRows.map((r) => r.cells[metric].stats?.mean ?? NaN))
  ).filter((column) => !duplicatesNll(column, runs))
    .sort((a, b) => metricOrder(a.metric) - metricOrder(b.metric) || a.id.localeCompare(b.id));
  const real = allRows.filter((r) => REAL_MODELS.has(r.group.model));
  const rows = allRows.filter((r) => !real.includes(r));
  const table: Table = {
    suite: members[0].suite,
    dataset: members[0].dataset,
    backends: [...new Set(members.map((g) => g.backend))].sort(),
    testCount: full,
    rows,
    sections: [],
  };
  for (const question of QUESTIONS) {
    const own = columns.filter((c) => c.question === question);
    const members = rows.filter((r) => own.some((c) => r.cells[c.id]?.stats));
    if (own.length === 0 || members.length === 0) continue;
    let blocks: Block[];
    let rankedBy: Column | null = null;
    if (question === "likelihood") {
      blocks = likelihoodBlocks(members, own);
    } else {
      const preferred = RANK_BY[question] ?? [];
      rankedBy = own.filter((c) => preferred.includes(c.metric))
        .sort((a, b) => preferred.indexOf(a.metric) - preferred.indexOf(b.metric))[0] ?? null;
      blocks = [{ kind: null, k: null, title: "", rows: rank(members, rankedBy) }];
    }
    for (const block of blocks) for (const column of own) markBest(block, column);
    const text = QUESTION_TEXT[question];
    table.sections.push({
      question,
      title: text.title,
      what: text.what,
      columns: own,
      blocks,
      rankedBy,
      floor: floorRow(table, question, own, real),
    });
  }
  return table;
}

/**
 * A VAE's `nll_nats` is its best bound, the same number as its `iwae_nats` (or `elbo_nats`):
 * drop a bound's column when it repeats `nll_nats` run for run.
 */
function duplicatesNll(column: Column, runs: CollectedRun[]): boolean {
  if (column.metric !== "iwae_nats" && column.metric !== "elbo_nats") return false;
  return runs.every((run) => {
    const value = run.metrics[column.metric];
    return value === undefined || Object.is(value.value, run.metrics.nll_nats?.value);
  });
}

/** Build one table per (suite, dataset) from grouped runs. */
export function buildTables(groups: RunGroup[]): Table[] {
  const bySuite = new Map<string, RunGroup[]>();
  for (const group of groups) {
    const key = JSON.stringify([group.suite, group.dataset]);
    if (!bySuite.has(key)) bySuite.set(key, []);
    bySuite.get(key)!.push(group);
  }
  return [...bySuite.values()].map(buildTable);
}

/** Format a number with the column's decimals (thousands separated when there are none). */
export function formatNumber(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "∞" : "−∞";
  const text = decimals === 0 ? Math.round(value).toLocaleString("en-US") : value.toFixed(decimals);
  return text.replace(/^-/, "−").replace(/^−(0\.?0*)$/, "$1");
}

/** The parts of a cell's text: mean, ± std and the 95% interval (absent for one seed). */
export function cellParts(
  cell: Cell,
  column: Column,
): { mean: string; std: string | null; low: string | null; high: string | null } | null {
  if (!cell.stats) return null;
  const { mean, std, ci95, n } = cell.stats;
  const f = (v: number) => formatNumber(v, column.decimals);
  // One seed, or seeds that agree exactly (a parameter count): the value alone.
  if (n < 2 || std <= 1e-9 * Math.abs(mean)) {
    return { mean: f(mean), std: null, low: null, high: null };
  }
  return { mean: f(mean), std: f(std), low: f(mean - ci95), high: f(mean + ci95) };
}

/**
 * The subset note of a cell, e.g. `2,000 of 10,000 test images (seeded random subset, seed 1)`;
 * results from before seeded subsets say `first 2,000 of 10,000 test images`.
 */
export function subsetNote(cell: Cell, table: Table): string | null {
  if (cell.subset === null) return null;
  const count = (n: number) => n.toLocaleString("en-US");
  const of = table.testCount ? ` of ${count(table.testCount)}` : "";
  return cell.subsetSeed != null
    ? `${count(cell.subset)}${of} test images (seeded random subset, seed ${cell.subsetSeed})`
    : `first ${count(cell.subset)}${of} test images`;
}

/** The heading of a table, e.g. `ci suite on synthetic (backend cpu)`. */
export function tableHeading(table: Table): string {
  return `${table.suite} suite on ${table.dataset} (backend ${table.backends.join(", ")})`;
}

/** The best row of each block of each section, with its ranking value. */
export interface Headline {
  section: Section;
  block: Block;
  column: Column;
  row: Row;
  /** Best row of each family in the block (the overall best's family included). */
  families: { family: string; row: Row }[];
}

/** The ranked summary: per question (and likelihood kind), the best model and per family. */
export function headlines(table: Table): Headline[] {
  const out: Headline[] = [];
  for (const section of table.sections) {
    for (const block of section.blocks) {
      const column = section.rankedBy ??
        section.columns.find((c) => block.rows.some((r) => r.cells[c.id]?.stats));
      if (!column || column.better === "none") continue;
      const ranked = block.rows.filter((r) => shown(r.cells[column.id], column) !== null);
      if (ranked.length === 0) continue;
      const families = new Map<string, Row>();
      for (const row of ranked) if (!families.has(row.family)) families.set(row.family, row);
      out.push({
        section,
        block,
        column,
        row: ranked[0],
        families: [...families].map(([family, row]) => ({ family, row })),
      });
    }
  }
  return out;
}

/** The runs of a row, with their status counts, e.g. `2 finished, 1 diverged`. */
export function statusText(group: RunGroup): string {
  const counts = new Map<string, number>();
  for (const run of [...group.finished, ...group.unfinished]) {
    counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
}

/** The seeds behind a row's numbers. */
export function seedsText(group: RunGroup): string {
  return group.finished.map((r) => r.seed).join(", ") || "—";
}

/** The value of `column` in one run, or undefined. */
export function runValue(run: CollectedRun, column: Column): number | undefined {
  return run.metrics[column.metric]?.value;
}

/** `mean` of a list (NaN when empty), for charts. */
export { mean as finiteMean };
