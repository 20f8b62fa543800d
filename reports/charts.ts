/**
 * The report's charts as chart.js configurations (plain JSON), shared by the HTML page (drawn in
 * the browser) and the paper figures (drawn server-side): per question bars sorted best first
 * (the highlight explained in every caption), a likelihood-vs-FID scatter where runs have FID,
 * and learning curves grouped by what they measure, with named axes.
 */
import { groupLabel, type RunGroup } from "./collect.ts";
import type { Question } from "./names.ts";
import { type Cell, type Column, kindLabel, type Row, type Section, type Table } from "./tables.ts";

/** One chart: a chart.js configuration (JSON only: no functions) and its caption. */
export interface ChartSpec {
  /** File-name-safe and unique within a report. */
  id: string;
  title: string;
  caption: string;
  section: "metrics" | "curves" | "scatter";
  /** For metric bars: the question whose table the chart belongs to. */
  question?: Question | null;
  // deno-lint-ignore no-explicit-any
  config: { type: string; data: any; options: any };
}

/** A colour-blind-safe palette (Okabe–Ito). */
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#D55E00",
  "#CC79A7",
  "#56B4E9",
  "#F0E442",
  "#000000",
];

/**
 * Prepare chart.js for genbench's charts: register the error-bar plugin (a dataset's
 * `errorBars[i] = [low, high]` becomes a whisker on bar or point i, and the value axis widens to
 * hold it) and leave datasets marked `legendHidden` out of legends. Self-contained (no outside
 * references) because the HTML page inlines its source text.
 */
// deno-lint-ignore no-explicit-any
export function setupChartJs(Chart: any): void {
  // Sans-serif everywhere (the native canvas otherwise falls back to a serif face), dark text.
  Chart.defaults.font.family = "'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', sans-serif";
  Chart.defaults.color = "#222";
  Chart.defaults.plugins.legend.labels.filter = (
    item: { datasetIndex?: number },
    // deno-lint-ignore no-explicit-any
    data: any,
  ) => !(item.datasetIndex !== undefined && data.datasets[item.datasetIndex]?.legendHidden);
  Chart.register({
    id: "genbenchErrorBars",
    // deno-lint-ignore no-explicit-any
    afterDataLimits(chart: any, args: any) {
      const scale = args.scale;
      if (scale.axis !== "y") return;
      for (const dataset of chart.data.datasets) {
        for (const bar of dataset.errorBars ?? []) {
          if (!bar) continue;
          for (const v of bar) {
            if (typeof v === "number" && Number.isFinite(v)) {
              if (v < scale.min) scale.min = v;
              if (v > scale.max) scale.max = v;
            }
          }
        }
      }
    },
    // deno-lint-ignore no-explicit-any
    afterDatasetsDraw(chart: any) {
      const ctx = chart.ctx;
      const y = chart.scales.y;
      chart.data.datasets.forEach((dataset: { errorBars?: (number[] | null)[] }, d: number) => {
        const meta = chart.getDatasetMeta(d);
        if (!dataset.errorBars || meta.hidden) return;
        ctx.save();
        ctx.strokeStyle = "#222";
        ctx.lineWidth = 1.5;
        dataset.errorBars.forEach((bar, i) => {
          const element = meta.data[i];
          if (!bar || !element || !bar.every(Number.isFinite)) return;
          const x = element.x;
          const top = y.getPixelForValue(bar[1]);
          const bottom = y.getPixelForValue(bar[0]);
          const half = Math.min(8, (element.width ?? 16) / 4);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, bottom);
          ctx.moveTo(x - half, top);
          ctx.lineTo(x + half, top);
          ctx.moveTo(x - half, bottom);
          ctx.lineTo(x + half, bottom);
          ctx.stroke();
        });
        ctx.restore();
      });
    },
  });
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 80);
}

function tableTitle(table: Table): string {
  return `${table.suite} suite on ${table.dataset}`;
}

/** What the colours of a bar chart mean (every bar chart says it in its caption). */
export const HIGHLIGHT_NOTE = "Green: the best mean (ties at the shown precision); blue: the " +
  "others. Bars are sorted best first; error bars are ± one standard deviation over seeds " +
  "(none for one seed).";

interface Bar {
  label: string;
  mean: number;
  std: number;
  n: number;
  colour: string;
}

function barConfig(title: string, axis: string, bars: Bar[]) {
  return {
    type: "bar",
    data: {
      labels: bars.map((b) => b.label),
      datasets: [{
        label: title,
        data: bars.map((b) => (Number.isFinite(b.mean) ? b.mean : null)),
        backgroundColor: bars.map((b) => b.colour),
        errorBars: bars.map((b) =>
          b.n > 1 && Number.isFinite(b.std) ? [b.mean - b.std, b.mean + b.std] : null
        ),
      }],
    },
    options: {
      plugins: { title: { display: true, text: title }, legend: { display: false } },
      scales: { y: { beginAtZero: true, title: { display: true, text: axis } } },
    },
  };
}

function rowName(table: Table, row: Row): string {
  return table.backends.length > 1 ? `${row.label} · ${row.group.backend}` : row.label;
}

/** The subset note of a bar label, e.g. ` (n = 2,000)`. */
function subsetLabel(cell: Cell): string {
  return cell.subset === null ? "" : ` (n = ${cell.subset.toLocaleString("en-US")})`;
}

/** One bar chart of a column over a section's rows, sorted best first. */
function barChart(table: Table, section: Section, column: Column): ChartSpec | null {
  const rows = section.blocks.flatMap((b) => b.rows).filter((r) => r.cells[column.id]?.stats);
  if (rows.length === 0) return null;
  const sign = column.better === "higher" ? -1 : 1;
  const value = (r: Row) => r.cells[column.id].stats!.mean;
  rows.sort((a, b) => sign * (value(a) - value(b)) || a.label.localeCompare(b.label));
  const title = `${column.title.replace(/ [↓↑]$/, "")}, ${tableTitle(table)}`;
  const direction = column.better === "lower" ? "lower is better" : "higher is better";
  const bars = rows.map((row) => {
    const cell = row.cells[column.id];
    return {
      label: rowName(table, row) + subsetLabel(cell),
      mean: cell.stats!.mean,
      std: cell.stats!.std,
      n: cell.stats!.n,
      colour: cell.best ? PALETTE[2] : PALETTE[0],
    };
  });
  return {
    id: `bar-${slug(`${table.suite}-${table.dataset}-${column.id}`)}`,
    title,
    caption: `${title}: mean over seeds (${direction}). ${HIGHLIGHT_NOTE}`,
    section: "metrics",
    question: section.question,
    config: barConfig(
      title,
      `${column.name}${column.unitLabel ? ` (${column.unitLabel})` : ""}, ${direction}`,
      bars,
    ),
  };
}

/**
 * The likelihood chart: every model's best estimate (`nll_nats`), sorted within its kind (exact,
 * then bounds), each bar coloured and labelled by its kind: a bound is never passed off as an
 * exact value.
 */
function likelihoodChart(table: Table, section: Section): ChartSpec | null {
  const column = section.columns.find((c) => c.metric === "nll_nats");
  if (!column) return null;
  const bars: Bar[] = [];
  const kinds: string[] = [];
  for (const block of section.blocks) {
    for (const row of block.rows) {
      const cell = row.cells[column.id];
      if (!cell?.stats) continue;
      const kind = cell.kind ? kindLabel(cell.kind, cell.k) : "unlabelled";
      if (!kinds.includes(kind)) kinds.push(kind);
      bars.push({
        label: `${rowName(table, row)} [${kind}]${subsetLabel(cell)}`,
        mean: cell.stats.mean,
        std: cell.stats.std,
        n: cell.stats.n,
        colour: PALETTE[kinds.indexOf(kind) % PALETTE.length],
      });
    }
  }
  if (bars.length === 0) return null;
  const title = `Test NLL, best estimate per model, ${tableTitle(table)}`;
  return {
    id: `bar-${slug(`${table.suite}-${table.dataset}-nll-best`)}`,
    title,
    caption: `${title}: mean over seeds (lower is better), error bars ± one standard deviation. ` +
      "Bars are grouped by kind and sorted best first within it; the colour and the label give " +
      `the kind (${kinds.join(", ")}): [exact] is the exact NLL; [ELBO] and [IWAE-k] are ` +
      "upper bounds on it (the true NLL is at or below the bar). (n = …) marks an average over " +
      "a subset of the test set.",
    section: "metrics",
    question: "likelihood",
    config: barConfig(title, "NLL (nats), lower is better", bars),
  };
}

/** What a logged training quantity measures: its chart's title and y axis. */
interface Measure {
  id: string;
  title: string;
  axis: string;
}

const MEASURES: { test: RegExp; measure: Measure }[] = [
  {
    // progan's schedule: bookkeeping of the growth, not a loss.
    test: /^(stage|alpha)$/,
    measure: {
      id: "growth",
      title: "Progressive growth",
      axis: "resolution stage (0: H/4, 1: H/2, 2: H) and fade-in α of its new layers",
    },
  },
  {
    test: /^wgan_|^gp$/,
    measure: {
      id: "critic",
      title: "WGAN-GP critic",
      axis: "critic units (Wasserstein estimate, penalty, losses; no unit)",
    },
  },
  {
    test: /^(nll|neg_elbo|neg_iwae|loss|recon)$/,
    measure: {
      id: "objective",
      title: "Training objective per image",
      axis: "objective per image (nats; lower is better)",
    },
  },
  {
    test: /^(d|g|q|info)_loss$|_loss$/,
    measure: {
      id: "adversarial",
      title: "Adversarial losses",
      axis: "loss per sample (nats, binary cross-entropy)",
    },
  },
  {
    test: /^d_(real|fake)$/,
    measure: {
      id: "discriminator",
      title: "Discriminator outputs",
      axis: "mean D(x) (probability the image is real)",
    },
  },
  {
    test: /grad_norm$/,
    measure: { id: "gradients", title: "Gradient norms", axis: "gradient L2 norm" },
  },
];

function measureOf(key: string): Measure {
  return MEASURES.find((m) => m.test.test(key))?.measure ??
    { id: slug(key), title: `Training value ${key}`, axis: key };
}

const BOOKKEEPING = ["epoch", "images", "seconds"];

/**
 * Learning curves grouped by what they measure (the training objective, adversarial losses,
 * discriminator outputs, gradient norms), one chart per measure and (suite, dataset), every
 * model's lines in it, x = training images seen (so batch sizes compare).
 */
function curveCharts(groups: RunGroup[]): ChartSpec[] {
  const charts = new Map<string, { measure: Measure; where: string; datasets: unknown[] }>();
  const colours = new Map<string, number>();
  for (const group of groups) {
    const runs = [...group.finished, ...group.unfinished].sort((a, b) => a.seed - b.seed);
    const keys = new Set<string>();
    for (const run of runs) {
      for (const point of run.curves) {
        for (const key of Object.keys(point.values)) if (!BOOKKEEPING.includes(key)) keys.add(key);
      }
    }
    const where = `${group.suite} suite on ${group.dataset}`;
    for (const key of keys) {
      const measure = measureOf(key);
      const chartKey = `${where}\0${measure.id}`;
      if (!charts.has(chartKey)) charts.set(chartKey, { measure, where, datasets: [] });
      const series = `${groupLabel(group)}${group.backend ? ` (${group.backend})` : ""} ${key}`;
      if (!colours.has(chartKey + series)) {
        colours.set(
          chartKey + series,
          [...colours.keys()].filter((c) => c.startsWith(chartKey)).length,
        );
      }
      const colour = PALETTE[colours.get(chartKey + series)! % PALETTE.length];
      for (const [r, run] of runs.entries()) {
        charts.get(chartKey)!.datasets.push({
          label: `${series}${r > 0 ? `, seed ${run.seed}` : ""}${
            run.status === "finished" ? "" : ` (${run.status})`
          }`,
          legendHidden: r > 0,
          data: run.curves.filter((p) => key in p.values).map((p) => ({
            x: typeof p.values.images === "number" ? p.values.images : p.step,
            y: p.values[key],
          })),
          borderColor: colour,
          backgroundColor: colour,
          borderDash: r === 0 ? [] : [2 + 2 * r, 3],
          borderWidth: 1.5,
          pointRadius: 0,
          spanGaps: false,
        });
      }
    }
  }
  return [...charts.values()].map(({ measure, where, datasets }) => {
    const title = `${measure.title}, ${where}`;
    return {
      id: `curves-${slug(`${where}-${measure.id}`)}`,
      title,
      caption: `${title}: logged during training, one colour per model and quantity (legend), ` +
        "the first seed solid and further seeds dashed; a gap is a value that was not finite.",
      section: "curves" as const,
      question: null,
      config: {
        type: "line",
        data: { datasets },
        options: {
          plugins: { title: { display: true, text: title } },
          scales: {
            x: { type: "linear", title: { display: true, text: "training images seen" } },
            y: { title: { display: true, text: measure.axis } },
          },
        },
      },
    };
  });
}

/** Likelihood against FID, one point per model, split by likelihood kind. */
function scatterChart(table: Table): ChartSpec | null {
  const samples = table.sections.find((s) => s.question === "samples");
  const likelihood = table.sections.find((s) => s.question === "likelihood");
  const fid = samples?.columns.find((c) => c.metric === "fid");
  if (!fid || !likelihood) return null;
  const byKind = new Map<string, { x: number; y: number; label: string }[]>();
  for (const row of likelihood.blocks.flatMap((b) => b.rows)) {
    const x = row.cells[fid.id]?.stats?.mean;
    const nll = row.cells.nll_nats;
    if (x === undefined || !Number.isFinite(x) || !nll?.stats) continue;
    const kind = nll.kind ? kindLabel(nll.kind, nll.k) : "unlabelled";
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind)!.push({ x, y: nll.stats.mean, label: row.label });
  }
  if (byKind.size === 0) return null;
  const title = `NLL vs FID, ${tableTitle(table)}`;
  return {
    id: `scatter-${slug(`${table.suite}-${table.dataset}-nll-fid`)}`,
    title,
    caption: `${title}: one point per model (means over seeds; lower is better on both axes). ` +
      "The legend gives each point's likelihood kind: bounds are upper bounds on the NLL. " +
      `Points: ${
        [...byKind.values()].flat().map((p) => `${p.label} (${p.x.toFixed(2)}, ${p.y.toFixed(2)})`)
          .join("; ")
      }.`,
    section: "scatter",
    question: null,
    config: {
      type: "scatter",
      data: {
        datasets: [...byKind].map(([kind, points], i) => ({
          label: `NLL [${kind}]`,
          data: points.map(({ x, y }) => ({ x, y })),
          labels: points.map((p) => p.label),
          backgroundColor: PALETTE[i % PALETTE.length],
          pointRadius: 5,
        })),
      },
      options: {
        plugins: { title: { display: true, text: title } },
        scales: {
          x: { type: "linear", title: { display: true, text: "FID (lower is better)" } },
          y: { title: { display: true, text: "NLL (nats, lower is better)" } },
        },
      },
    },
  };
}

/**
 * Every chart of a report: per question its bars (one per ranked metric; none for metrics
 * without a direction), NLL-vs-FID where FID exists, and the learning curves by measure.
 */
export function buildCharts(tables: Table[], groups: RunGroup[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  for (const table of tables) {
    for (const section of table.sections) {
      if (section.question === "likelihood") {
        const chart = likelihoodChart(table, section);
        if (chart) charts.push(chart);
        continue;
      }
      for (const column of section.columns) {
        if (column.better === "none") continue;
        const chart = barChart(table, section, column);
        if (chart) charts.push(chart);
      }
    }
    const scatter = scatterChart(table);
    if (scatter) charts.push(scatter);
  }
  charts.push(...curveCharts(groups));
  // Ids name figure files: make them unique.
  const seen = new Map<string, number>();
  for (const chart of charts) {
    const n = seen.get(chart.id) ?? 0;
    seen.set(chart.id, n + 1);
    if (n > 0) chart.id = `${chart.id}-${n + 1}`;
  }
  return charts;
}
