/**
 * `summary.md`: one row per model (mean ± std over seeds), the metrics as columns, each
 * likelihood labelled with its kind, ranked by `nll_nats` (models without a likelihood last).
 */
import type { MetricsFile } from "../benchmarks/runner.ts";
import type { MetricValue } from "../metrics/metric.ts";

const COLUMNS: { metric: string; title: string; digits: number }[] = [
  { metric: "nll_nats", title: "NLL (nats)", digits: 2 },
  { metric: "bpd", title: "bits/dim", digits: 4 },
  { metric: "elbo_nats", title: "−ELBO (nats)", digits: 2 },
  { metric: "iwae_nats", title: "−IWAE (nats)", digits: 2 },
  { metric: "kl_nats", title: "KL (nats)", digits: 2 },
  { metric: "recon_bce", title: "recon BCE (nats)", digits: 2 },
  { metric: "recon_mse", title: "recon MSE", digits: 4 },
  { metric: "recon_ssim", title: "SSIM", digits: 3 },
  { metric: "parzen_ll", title: "Parzen LL (nats, ↑)", digits: 1 },
  { metric: "fid", title: "FID (LeNet)", digits: 2 },
  { metric: "kid", title: "KID (LeNet)", digits: 4 },
  { metric: "precision", title: "precision", digits: 3 },
  { metric: "recall", title: "recall", digits: 3 },
  { metric: "is_score", title: "IS (LeNet)", digits: 2 },
  { metric: "params", title: "params", digits: 0 },
  { metric: "train_seconds", title: "train s", digits: 1 },
  { metric: "train_img_per_s", title: "train img/s", digits: 0 },
  { metric: "sample_img_per_s", title: "sample img/s", digits: 0 },
];

const KIND_LABEL: Record<string, string> = {
  exact: "exact",
  elbo: "−ELBO bound",
  "iwae-k": "IWAE bound",
  ais: "AIS estimate",
  parzen: "Parzen estimate",
};

interface Row {
  label: string;
  runs: MetricsFile[];
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1
    ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)
    : 0;
  return { mean, std: Math.sqrt(variance) };
}

function cell(row: Row, metric: string, digits: number, fullCount: number): string {
  const values = row.runs.map((r) => r.metrics[metric]).filter((m): m is MetricValue => !!m);
  if (values.length === 0) return "—";
  const { mean, std } = meanStd(values.map((m) => m.value));
  const format = (v: number) =>
    digits === 0 ? Math.round(v).toLocaleString("en-US") : v.toFixed(digits);
  let text = values.length > 1 ? `${format(mean)} ± ${format(std)}` : format(mean);
  const kind = values[0].kind;
  const n = values[0].n;
  const subset = n !== undefined && n < fullCount
    ? `, first ${n.toLocaleString("en-US")} test images`
    : "";
  if (kind && (metric === "nll_nats" || metric === "bpd")) {
    text += ` (${KIND_LABEL[kind] ?? kind}${values[0].k ? `, k=${values[0].k}` : ""}${subset})`;
  }
  return text;
}

/** The Markdown summary of a suite's runs. */
export function summaryMarkdown(
  runs: MetricsFile[],
  context: { suite: string; dataset: string; backend: string; seeds: number[] },
): string {
  const rows = new Map<string, Row>();
  for (const run of runs) {
    const label = run.variant ? `${run.model} (${run.variant})` : run.model;
    if (!rows.has(label)) rows.set(label, { label, runs: [] });
    rows.get(label)!.runs.push(run);
  }
  const nll = (row: Row) => {
    const values = row.runs.map((r) => r.metrics.nll_nats?.value).filter((v) => v !== undefined);
    return values.length ? meanStd(values as number[]).mean : Infinity;
  };
  const ranked = [...rows.values()].sort((a, b) => nll(a) - nll(b));
  const used = COLUMNS.filter((c) =>
    ranked.some((row) => row.runs.some((r) => r.metrics[c.metric]))
  );
  // The largest evaluation count in the table; smaller ones are flagged in their cells.
  const fullCount = Math.max(
    0,
    ...runs.flatMap((r) => Object.values(r.metrics).map((m) => m.n ?? 0)),
  );
  const lines = [
    `# genbench ${context.suite} suite on ${context.dataset}`,
    "",
    `Backend \`${context.backend}\`, seeds ${context.seeds.join(", ")}. Ranked by test NLL ` +
    "(lower is better); each NLL says whether it is exact or a bound. Models without a " +
    "likelihood are listed last, unranked. Values over several seeds are mean ± std.",
    "",
    `| rank | model | status | ${used.map((c) => c.title).join(" | ")} |`,
    `| --- | --- | --- | ${used.map(() => "---:").join(" | ")} |`,
  ];
  let rank = 0;
  for (const row of ranked) {
    const ranked = Number.isFinite(nll(row)) ? String(++rank) : "—";
    const status = [...new Set(row.runs.map((r) => r.status))].join(", ");
    lines.push(
      `| ${ranked} | ${row.label} | ${status} | ${
        used.map((c) => cell(row, c.metric, c.digits, fullCount)).join(" | ")
      } |`,
    );
  }
  lines.push(
    "",
    "Each run's folder under `runs/` holds its provenance (`run.json`), metrics, ",
    "learning curves and sample grid.",
    "",
  );
  return lines.join("\n");
}
