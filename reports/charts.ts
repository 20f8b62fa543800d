/**
 * The report's charts as chart.js configurations (plain JSON), shared by the HTML page (drawn in
 * the browser) and the paper figures (drawn server-side): learning curves per model, one bar
 * chart per metric column with error bars, and a likelihood-vs-FID scatter where runs have FID.
 */
import { groupLabel, type RunGroup } from "./collect.ts";
import { type Column, kindLabel, type Table } from "./tables.ts";

/** One chart: a chart.js configuration (JSON only: no functions) and its caption. */
export interface ChartSpec {
  /** File-name-safe and unique within a report. */
  id: string;
  title: string;
  caption: string;
  section: "metrics" | "curves" | "scatter";
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

function barChart(table: Table, column: Column): ChartSpec | null {
  const rows = table.rows.filter((row) => row.cells[column.id].stats);
  if (rows.length === 0) return null;
  const stats = rows.map((row) => row.cells[column.id].stats!);
  const multiBackend = table.backends.length > 1;
  const label = (row: (typeof rows)[number]) =>
    multiBackend ? `${row.label} · ${row.group.backend}` : row.label;
  const title = `${column.title.replace(/ [↓↑]$/, "")}, ${tableTitle(table)}`;
  const direction = column.better === "lower" ? "lower is better" : "higher is better";
  return {
    id: `bar-${slug(`${table.suite}-${table.dataset}-${column.id}`)}`,
    title,
    caption: `${title}: mean over seeds (${direction}); error bars ± one standard deviation ` +
      `over seeds (n = ${[...new Set(stats.map((s) => s.n))].join(", ")}); no bar for one seed.`,
    section: "metrics",
    config: {
      type: "bar",
      data: {
        labels: rows.map(label),
        datasets: [{
          label: column.title,
          data: stats.map((s) => (Number.isFinite(s.mean) ? s.mean : null)),
          backgroundColor: rows.map((row) => row.cells[column.id].best ? PALETTE[2] : PALETTE[0]),
          errorBars: stats.map((s) =>
            s.n > 1 && Number.isFinite(s.std) ? [s.mean - s.std, s.mean + s.std] : null
          ),
        }],
      },
      options: {
        plugins: {
          title: { display: true, text: title },
          legend: { display: false },
        },
        scales: {
          y: {
            beginAtZero: true,
            title: { display: true, text: `${column.unit} (${direction})` },
          },
        },
      },
    },
  };
}

/**
 * One bar per model of `nll_nats`, the best likelihood estimate each model offers, so models
 * can be compared at a glance. Its kind is in every bar's label and colour: a bound is an upper
 * bound on the NLL, never passed off as an exact value.
 */
function bestNllChart(table: Table): ChartSpec | null {
  const bars: { label: string; kind: string; mean: number; std: number; n: number }[] = [];
  for (const row of table.rows) {
    const runs = row.group.finished.filter((r) => r.metrics.nll_nats);
    if (runs.length === 0) continue;
    const first = runs[0].metrics.nll_nats;
    const kind = first.kind ? kindLabel(first.kind, first.k ?? null) : "unlabelled";
    if (runs.some((r) => (r.metrics.nll_nats.kind ?? null) !== (first.kind ?? null))) continue;
    const values = runs.map((r) => r.metrics.nll_nats.value);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = values.length > 1
      ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
      : NaN;
    const name = table.backends.length > 1 ? `${row.label} · ${row.group.backend}` : row.label;
    bars.push({ label: `${name} [${kind}]`, kind, mean, std, n: values.length });
  }
  if (bars.length < 2) return null;
  const kinds = [...new Set(bars.map((b) => b.kind))];
  const title = `Test NLL, best estimate per model, ${tableTitle(table)}`;
  return {
    id: `bar-${slug(`${table.suite}-${table.dataset}-nll-best`)}`,
    title,
    caption: `${title}: nll_nats, mean over seeds (lower is better), error bars ± one standard ` +
      "deviation. Each bar's label and colour give its kind: [exact] is the exact NLL; " +
      "[ELBO] and [IWAE-k] are upper bounds on it (the true NLL is at or below the bar).",
    section: "metrics",
    config: {
      type: "bar",
      data: {
        labels: bars.map((b) => b.label),
        datasets: [{
          label: "NLL (nats)",
          data: bars.map((b) => (Number.isFinite(b.mean) ? b.mean : null)),
          backgroundColor: bars.map((b) => PALETTE[kinds.indexOf(b.kind) % PALETTE.length]),
          errorBars: bars.map((b) =>
            b.n > 1 && Number.isFinite(b.std) ? [b.mean - b.std, b.mean + b.std] : null
          ),
        }],
      },
      options: {
        plugins: { title: { display: true, text: title }, legend: { display: false } },
        scales: {
          y: {
            beginAtZero: true,
            title: { display: true, text: "nats (lower is better; bounds are upper bounds)" },
          },
        },
      },
    },
  };
}

/** Loss names in a run's curves, in first-seen order (bookkeeping fields left out). */
function curveKeys(group: RunGroup): string[] {
  const keys = new Set<string>();
  for (const run of [...group.finished, ...group.unfinished]) {
    for (const point of run.curves) {
      for (const key of Object.keys(point.values)) {
        if (!["epoch", "images", "seconds"].includes(key)) keys.add(key);
      }
    }
  }
  return [...keys];
}

function curveChart(group: RunGroup): ChartSpec | null {
  const runs = [...group.finished, ...group.unfinished].sort((a, b) => a.seed - b.seed);
  const keys = curveKeys(group);
  if (keys.length === 0) return null;
  const datasets = [];
  for (const [k, key] of keys.entries()) {
    for (const [r, run] of runs.entries()) {
      datasets.push({
        // The legend shows the first seed's line for each loss (see legendHidden).
        label: `${key}${r > 0 ? `, seed ${run.seed}` : ""}${
          run.status === "finished" ? "" : ` (${run.status})`
        }`,
        // One legend entry per loss; the seeds differ by dash pattern.
        legendHidden: r > 0,
        data: run.curves
          .filter((p) => key in p.values)
          .map((p) => ({ x: p.step, y: p.values[key] })),
        borderColor: PALETTE[k % PALETTE.length],
        backgroundColor: PALETTE[k % PALETTE.length],
        borderDash: r === 0 ? [] : [2 + 2 * r, 3],
        borderWidth: 1.5,
        pointRadius: 0,
        spanGaps: false,
      });
    }
  }
  const title = `Learning curves: ${groupLabel(group)}, ${group.suite} suite on ${group.dataset}` +
    (group.backend ? ` (${group.backend})` : "");
  return {
    id: `curves-${slug(`${group.suite}-${group.dataset}-${groupLabel(group)}-${group.backend}`)}`,
    title,
    caption: `${title}: the training losses logged per step, one line per loss and seed ` +
      `(solid: seed ${runs[0].seed}${
        runs.length > 1 ? `; dashed: seeds ${runs.slice(1).map((r) => r.seed).join(", ")}` : ""
      }; a gap is a value that was not finite).`,
    section: "curves",
    config: {
      type: "line",
      data: { datasets },
      options: {
        plugins: { title: { display: true, text: title } },
        scales: {
          x: { type: "linear", title: { display: true, text: "training step" } },
          y: { title: { display: true, text: "value" } },
        },
      },
    },
  };
}

/**
 * Likelihood against FID, one point per row, where a table has an `fid` column. Points are
 * split by likelihood kind so the legend says which are bounds.
 */
function scatterChart(table: Table): ChartSpec | null {
  const fid = table.quality.find((c) => c.metric === "fid");
  if (!fid) return null;
  const byKind = new Map<string, { x: number; y: number; label: string }[]>();
  for (const row of table.rows) {
    const x = row.cells[fid.id].stats?.mean;
    const runs = row.group.finished.filter((r) => r.metrics.nll_nats);
    if (x === undefined || !Number.isFinite(x) || runs.length === 0) continue;
    const first = runs[0].metrics.nll_nats;
    const kind = first.kind ? kindLabel(first.kind, first.k ?? null) : "unlabelled";
    const values = runs.map((r) => r.metrics.nll_nats.value);
    const y = values.reduce((a, b) => a + b, 0) / values.length;
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind)!.push({ x, y, label: row.label });
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
          x: {
            type: "linear",
            title: { display: true, text: `FID (${fid.unit}, lower is better)` },
          },
          y: { title: { display: true, text: "NLL (nats, lower is better)" } },
        },
      },
    },
  };
}

/** Every chart of a report: metric bars, learning curves, and NLL-vs-FID where FID exists. */
export function buildCharts(tables: Table[], groups: RunGroup[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  for (const table of tables) {
    const best = bestNllChart(table);
    if (best) charts.push(best);
    for (const column of [...table.quality, ...table.cost]) {
      const chart = barChart(table, column);
      if (chart) charts.push(chart);
    }
    const scatter = scatterChart(table);
    if (scatter) charts.push(scatter);
  }
  for (const group of groups) {
    const chart = curveChart(group);
    if (chart) charts.push(chart);
  }
  // Ids name figure files: make them unique.
  const seen = new Map<string, number>();
  for (const chart of charts) {
    const n = seen.get(chart.id) ?? 0;
    seen.set(chart.id, n + 1);
    if (n > 0) chart.id = `${chart.id}-${n + 1}`;
  }
  return charts;
}
