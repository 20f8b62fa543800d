/**
 * Result tables in Markdown, LaTeX (booktabs) and CSV. One table per (suite, dataset); one row
 * per (model, variant, backend); each cell is mean ± std over seeds with a Student-t 95%
 * interval. Likelihood columns are split by kind (exact, ELBO, IWAE-k, AIS, Parzen) and say so
 * in their heading, so a bound and an exact value never share a column. The best value of a
 * column is bold, by the metric's direction.
 */
import { METRICS } from "../metrics/metric.ts";
import type { LikelihoodKind, MetricValue } from "../metrics/metric.ts";
import { type CollectedRun, groupLabel, type RunGroup } from "./collect.ts";
import { type SeedStats, seedStats } from "./stats.ts";

/** One column: a metric, restricted to one likelihood kind where the metric has one. */
export interface Column {
  id: string;
  metric: string;
  kind: LikelihoodKind | null;
  k: number | null;
  unit: string;
  better: "lower" | "higher";
  /** Parameters, times and speeds: what a result costs rather than how good it is. */
  cost: boolean;
  /** Decimal places shown. */
  decimals: number;
  /** Plain-text heading, e.g. `NLL [IWAE-10] (nats) ↓`. */
  title: string;
  /** The same heading as LaTeX. */
  latex: string;
}

/** One cell: the statistics over seeds, or null where no finished run has the metric. */
export interface Cell {
  stats: SeedStats | null;
  best: boolean;
}

/** One row of a table. */
export interface Row {
  group: RunGroup;
  label: string;
  cells: Record<string, Cell>;
}

/** The table of one (suite, dataset). */
export interface Table {
  suite: string;
  dataset: string;
  backends: string[];
  quality: Column[];
  cost: Column[];
  rows: Row[];
}

/** Display names (plain, LaTeX) of the metrics genbench knows; others show their own name. */
const NAMES: Record<string, [string, string]> = {
  nll_nats: ["NLL", "NLL"],
  bpd: ["bpd", "bpd"],
  elbo_nats: ["−ELBO", "$-$ELBO"],
  iwae_nats: ["−IWAE", "$-$IWAE"],
  kl_nats: ["KL", "KL"],
  recon_bce: ["recon BCE", "recon.\\ BCE"],
  recon_mse: ["recon MSE", "recon.\\ MSE"],
  params: ["params", "params"],
  train_seconds: ["train time", "train time"],
  train_img_per_s: ["train img/s", "train img/s"],
  sample_img_per_s: ["sampling img/s", "sampling img/s"],
};

/** Column order: these first (in this order), other metrics after them by name. */
const ORDER = Object.keys(NAMES);

const UNIT_DECIMALS: Record<string, number> = {
  nats: 2,
  "bits/dim": 4,
  count: 0,
  s: 1,
  "img/s": 0,
  "per pixel": 4,
};

/** The label of a likelihood kind as it appears in a column heading. */
export function kindLabel(kind: LikelihoodKind, k: number | null): string {
  switch (kind) {
    case "exact":
      return "exact";
    case "elbo":
      return "ELBO";
    case "iwae-k":
      return `IWAE-${k ?? "k"}`;
    case "ais":
      return "AIS";
    case "parzen":
      return "Parzen";
  }
}

/** What the kind labels mean, for the note under each table. */
export const KIND_NOTE = "[exact]: exact likelihood; [ELBO] and [IWAE-k]: upper bounds on the " +
  "NLL (k importance samples), never exact values; [AIS], [Parzen]: estimates.";

/** Escape text for LaTeX (outside math mode). */
export function latexEscape(text: string): string {
  return text.replace(
    /[\\&%$#_{}~^]/g,
    (c) =>
      c === "\\"
        ? "\\textbackslash{}"
        : c === "~"
        ? "\\textasciitilde{}"
        : c === "^"
        ? "\\textasciicircum{}"
        : `\\${c}`,
  ).replace(/[^\x20-\x7e]/g, "?");
}

/** Lines stacked in one cell, right-aligned, with a nested tabular (no extra package). */
function latexStack(lines: string[], align: "t" | "b"): string {
  return `\\begin{tabular}[${align}]{@{}r@{}}${lines.join(" \\\\ ")}\\end{tabular}`;
}

function isCost(metric: string): boolean {
  return metric === "params" || METRICS[metric]?.timing === true;
}

function columnId(metric: string, value: MetricValue): string {
  return value.kind ? `${metric}[${kindLabel(value.kind, value.k ?? null)}]` : metric;
}

/** The value of `column` in one run, or undefined. */
export function runValue(run: CollectedRun, column: Column): number | undefined {
  const value = run.metrics[column.metric];
  if (!value || columnId(column.metric, value) !== column.id) return undefined;
  return value.value;
}

function makeColumn(metric: string, sample: MetricValue, means: number[]): Column {
  const [plain, latex] = NAMES[metric] ?? [metric, latexEscape(metric)];
  const kind = sample.kind ? kindLabel(sample.kind, sample.k ?? null) : null;
  let decimals = UNIT_DECIMALS[sample.unit];
  if (decimals === undefined) {
    // Four significant digits of the largest magnitude in the column.
    const largest = Math.max(1e-12, ...means.filter(Number.isFinite).map(Math.abs));
    decimals = Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(largest))));
  }
  const arrow = sample.better === "lower" ? "↓" : "↑";
  const latexArrow = sample.better === "lower" ? "$\\downarrow$" : "$\\uparrow$";
  // No unit for counts, nor where the name already says it ("train img/s").
  const unit = sample.unit === "count" || plain.endsWith(sample.unit) ? "" : ` (${sample.unit})`;
  return {
    id: columnId(metric, sample),
    metric,
    kind: sample.kind ?? null,
    k: sample.k ?? null,
    unit: sample.unit,
    better: sample.better,
    cost: isCost(metric),
    decimals,
    title: `${plain}${kind ? ` [${kind}]` : ""}${unit} ${arrow}`,
    // Two lines (name and kind; unit and direction) keep the columns narrow.
    latex: latexStack(
      [
        `${latex}${kind ? ` [${latexEscape(kind)}]` : ""}`,
        `${latexEscape(unit.trim())} ${latexArrow}`,
      ],
      "b",
    ),
  };
}

function orderIndex(metric: string): number {
  const i = ORDER.indexOf(metric);
  return i === -1 ? ORDER.length : i;
}

/** Build one table per (suite, dataset) from grouped runs. */
export function buildTables(groups: RunGroup[]): Table[] {
  const bySuite = new Map<string, RunGroup[]>();
  for (const group of groups) {
    const key = JSON.stringify([group.suite, group.dataset]);
    if (!bySuite.has(key)) bySuite.set(key, []);
    bySuite.get(key)!.push(group);
  }
  const tables: Table[] = [];
  for (const members of bySuite.values()) {
    const runs = members.flatMap((g) => g.finished);
    // Every (metric, kind, k) that some finished run has becomes a column.
    const samples = new Map<string, [string, MetricValue]>();
    for (const run of runs) {
      for (const [metric, value] of Object.entries(run.metrics)) {
        const id = columnId(metric, value);
        if (!samples.has(id)) samples.set(id, [metric, value]);
      }
    }
    let columns = [...samples.values()].map(([metric, sample]) => {
      const draft = makeColumn(metric, sample, []);
      const means = members.map((g) =>
        mean(g.finished.map((r) => runValue(r, draft)).filter((v) => v !== undefined))
      );
      return makeColumn(metric, sample, means);
    });
    columns = dropDuplicateNll(columns, runs);
    columns.sort((a, b) =>
      orderIndex(a.metric) - orderIndex(b.metric) || a.metric.localeCompare(b.metric) ||
      a.id.localeCompare(b.id)
    );
    const rows: Row[] = members.map((group) => {
      const cells: Record<string, Cell> = {};
      for (const column of columns) {
        const values = group.finished.map((r) => runValue(r, column)).filter((v) =>
          v !== undefined
        ) as number[];
        cells[column.id] = { stats: values.length ? seedStats(values) : null, best: false };
      }
      return { group, label: groupLabel(group), cells };
    });
    for (const column of columns) markBest(column, rows);
    tables.push({
      suite: members[0].suite,
      dataset: members[0].dataset,
      backends: [...new Set(members.map((g) => g.backend))].sort(),
      quality: columns.filter((c) => !c.cost),
      cost: columns.filter((c) => c.cost),
      rows,
    });
  }
  return tables;
}

function mean(values: (number | undefined)[]): number {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

/**
 * `nll_nats`/`bpd` hold the best estimate a model offers; for a VAE that is its IWAE bound, the
 * same number as `iwae_nats`. Drop an `nll_nats` bound column that repeats another metric's
 * column of the same kind run for run; `bpd` stays (it is the only place the bound is in bits).
 */
function dropDuplicateNll(columns: Column[], runs: CollectedRun[]): Column[] {
  return columns.filter((column) => {
    if (column.metric !== "nll_nats" || column.kind === "exact" || column.kind === null) {
      return true;
    }
    const twin = columns.find((other) =>
      other !== column && other.metric !== "bpd" && other.metric !== "nll_nats" &&
      other.kind === column.kind && other.k === column.k &&
      runs.every((run) => {
        const value = runValue(run, column);
        return value === undefined || Object.is(value, runValue(run, other));
      })
    );
    return twin === undefined;
  });
}

/** Format a number with the column's decimals (thousands separated when there are none). */
export function formatNumber(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "∞" : "−∞";
  const text = decimals === 0 ? Math.round(value).toLocaleString("en-US") : value.toFixed(decimals);
  return text.replace(/^-/, "−").replace(/^−(0\.?0*)$/, "$1");
}

function markBest(column: Column, rows: Row[]): void {
  const shown = rows
    .map((row) => row.cells[column.id])
    .filter((cell) => cell.stats && Number.isFinite(cell.stats.mean));
  if (shown.length < 2) return;
  // Compare what the reader sees: values equal at the shown precision tie for best.
  const rounded = (cell: Cell) => Number(cell.stats!.mean.toFixed(column.decimals));
  const values = shown.map(rounded);
  const best = column.better === "lower" ? Math.min(...values) : Math.max(...values);
  for (const cell of shown) if (rounded(cell) === best) cell.best = true;
}

/** The parts of a cell's text: mean, ± std and the 95% interval (absent for one seed). */
export function cellParts(
  cell: Cell,
  column: Column,
): { mean: string; std: string | null; low: string | null; high: string | null } | null {
  if (!cell.stats) return null;
  const { mean, std, ci95, n } = cell.stats;
  const f = (v: number) => formatNumber(v, column.decimals);
  if (n < 2) return { mean: f(mean), std: null, low: null, high: null };
  return { mean: f(mean), std: f(std), low: f(mean - ci95), high: f(mean + ci95) };
}

function statusText(group: RunGroup): string {
  const counts = new Map<string, number>();
  for (const run of [...group.finished, ...group.unfinished]) {
    counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
}

function seedsText(group: RunGroup): string {
  return group.finished.map((r) => r.seed).join(", ") || "—";
}

function markdownCell(cell: Cell, column: Column): string {
  const parts = cellParts(cell, column);
  if (!parts) return "—";
  const core = parts.std === null ? parts.mean : `${parts.mean} ± ${parts.std}`;
  const text = cell.best ? `**${core}**` : core;
  return parts.low === null ? text : `${text} [${parts.low}, ${parts.high}]`;
}

function markdownEscape(text: string): string {
  return text.replace(/[\\|*_`<>\[\]]/g, (c) => `\\${c}`);
}

function tableHeading(table: Table): string {
  return `${table.suite} suite on ${table.dataset} (backend ${table.backends.join(", ")})`;
}

/** All tables as one Markdown document. */
export function tablesMarkdown(tables: Table[]): string {
  const lines = [
    "# genbench results",
    "",
    "Each cell: mean ± std over seeds [95% confidence interval, Student t]; one seed shows " +
    "its value alone. ↓ lower is better, ↑ higher is better; the best value of each column is " +
    "bold. " + KIND_NOTE,
    "",
  ];
  for (const table of tables) {
    const multiBackend = table.backends.length > 1;
    const columns = [...table.quality, ...table.cost];
    lines.push(`## ${markdownEscape(tableHeading(table))}`, "");
    const head = ["model", ...(multiBackend ? ["backend"] : []), "seeds", "runs"];
    lines.push(
      `| ${[...head, ...columns.map((c) => c.title)].join(" | ")} |`,
      `| ${[...head.map(() => "---"), ...columns.map(() => "---:")].join(" | ")} |`,
    );
    for (const row of table.rows) {
      const cells = [
        markdownEscape(row.label),
        ...(multiBackend ? [markdownEscape(row.group.backend)] : []),
        seedsText(row.group),
        statusText(row.group),
        ...columns.map((c) => markdownCell(row.cells[c.id], c)),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
    lines.push("", "Runs behind each row (folders under `runs/`):", "");
    for (const row of table.rows) {
      for (const run of [...row.group.finished, ...row.group.unfinished]) {
        lines.push(
          `- ${markdownEscape(row.label)}, seed ${run.seed}: \`${run.id}\` (${run.status})`,
        );
      }
      for (const run of row.group.superseded) {
        lines.push(
          `- ${markdownEscape(row.label)}, seed ${run.seed}: \`${run.id}\` (superseded by a ` +
            "newer run of the same seed; not counted)",
        );
      }
    }
    lines.push("");
  }
  return lines.join("\n");
}

function latexCell(cell: Cell, column: Column): string {
  const parts = cellParts(cell, column);
  if (!parts) return "--";
  const m = (text: string) => text.replace(/−/g, "-").replace(/,/g, "{,}");
  const core = parts.std === null ? m(parts.mean) : `${m(parts.mean)} \\pm ${m(parts.std)}`;
  const main = cell.best ? `$\\mathbf{${core}}$` : `$${core}$`;
  return parts.low === null || parts.high === null
    ? main
    : latexStack([main, `{\\scriptsize $[${m(parts.low)}, ${m(parts.high)}]$}`], "t");
}

function latexTabular(table: Table, columns: Column[], caption: string, label: string): string[] {
  const multiBackend = table.backends.length > 1;
  const head = ["Model", ...(multiBackend ? ["Backend"] : []), "Seeds"];
  const lines = [
    "\\begin{table*}[t]",
    "  \\centering",
    "  \\footnotesize",
    "  \\setlength{\\tabcolsep}{4pt}",
    `  \\caption{${caption}}`,
    `  \\label{${label}}`,
    `  \\begin{tabular}{${"l".repeat(head.length)}${"r".repeat(columns.length)}}`,
    "    \\toprule",
    `    ${[...head, ...columns.map((c) => c.latex)].join(" & ")} \\\\`,
    "    \\midrule",
  ];
  for (const row of table.rows) {
    const status = row.group.unfinished.length
      ? ` (${row.group.unfinished.map((r) => `seed ${r.seed} ${r.status}`).join(", ")})`
      : "";
    lines.push(
      `    ${
        [
          latexEscape(row.label + status),
          ...(multiBackend ? [latexEscape(row.group.backend)] : []),
          latexEscape(seedsText(row.group)),
          ...columns.map((c) => latexCell(row.cells[c.id], c)),
        ].join(" & ")
      } \\\\`,
    );
  }
  lines.push("    \\bottomrule", "  \\end{tabular}", "\\end{table*}", "");
  return lines;
}

/**
 * All tables as LaTeX (booktabs): per (suite, dataset) one table of quality metrics and one of
 * costs. Needs `\usepackage{booktabs}` in the preamble.
 */
export function tablesLatex(tables: Table[]): string {
  const lines = [
    "% genbench results. Needs \\usepackage{booktabs}.",
    "% Cells: mean \\pm std over seeds, [95% confidence interval, Student t], best in bold.",
    "",
  ];
  for (const table of tables) {
    const name = latexEscape(tableHeading(table));
    const slug = `${table.suite}-${table.dataset}`.replace(/[^A-Za-z0-9-]/g, "-");
    const note = "Mean $\\pm$ std over seeds, 95\\% confidence interval (Student $t$) in " +
      "brackets; best in bold. " + latexEscape(KIND_NOTE);
    if (table.quality.length) {
      lines.push(...latexTabular(
        table,
        table.quality,
        `genbench, ${name}. ${note}`,
        `tab:genbench-${slug}`,
      ));
    }
    if (table.cost.length) {
      lines.push(...latexTabular(
        table,
        table.cost,
        `genbench cost, ${name}. Mean $\\pm$ std over seeds, 95\\% confidence interval in ` +
          "brackets.",
        `tab:genbench-${slug}-cost`,
      ));
    }
  }
  return lines.join("\n");
}

function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** All tables as CSV: one line per (row, column) with full-precision statistics and run ids. */
export function tablesCsv(tables: Table[]): string {
  const header = [
    "suite",
    "dataset",
    "model",
    "variant",
    "backend",
    "metric",
    "kind",
    "k",
    "unit",
    "better",
    "n",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "best",
    "seeds",
    "run_ids",
  ];
  const lines = [header.join(",")];
  for (const table of tables) {
    for (const row of table.rows) {
      for (const column of [...table.quality, ...table.cost]) {
        const cell = row.cells[column.id];
        if (!cell.stats) continue;
        const { n, mean, std, ci95 } = cell.stats;
        const runs = row.group.finished.filter((r) => runValue(r, column) !== undefined);
        const num = (v: number) => (Number.isFinite(v) ? v : null);
        lines.push(
          [
            table.suite,
            table.dataset,
            row.group.model,
            row.group.variant,
            row.group.backend,
            column.metric,
            column.kind,
            column.k,
            column.unit,
            column.better,
            n,
            num(mean),
            num(std),
            num(mean - ci95),
            num(mean + ci95),
            cell.best ? "yes" : "no",
            runs.map((r) => r.seed).join(" "),
            runs.map((r) => r.id).join(" "),
          ].map(csvField).join(","),
        );
      }
    }
  }
  return lines.join("\n") + "\n";
}
