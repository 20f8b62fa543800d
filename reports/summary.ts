/**
 * `summary.md`, written by `bench` when its runs end: the same table model as the report
 * (tables.ts), so it ranks, names and flags exactly as `tables.md` does — a ranked summary, then
 * one table per question.
 */
import type { MetricsFile } from "../benchmarks/record.ts";
import { type CollectedRun, groupRuns } from "./collect.ts";
import { markdownEscape, tableMarkdown } from "./markdown.ts";
import { buildTables } from "./tables.ts";

/** What summary.md needs of each run: the fields of its `metrics.json`. */
export type SummaryRun = MetricsFile;

function asCollected(run: SummaryRun): CollectedRun {
  return {
    id: run.run_id,
    dir: "",
    status: run.status,
    model: run.model,
    variant: run.variant,
    dataset: run.dataset,
    suite: run.suite,
    backend: run.backend,
    seed: run.seed,
    metrics: run.metrics,
    curves: [],
    images: [],
    startedAt: null,
    record: {},
  };
}

/** The Markdown summary of a suite's runs. */
export function summaryMarkdown(
  runs: SummaryRun[],
  context: { suite: string; dataset: string; backend: string; seeds: number[] },
): string {
  const tables = buildTables(groupRuns(runs.map(asCollected)));
  const unfinished = runs.filter((r) => r.status !== "finished");
  const lines = [
    `# genbench ${markdownEscape(context.suite)} suite on ${markdownEscape(context.dataset)}`,
    "",
    `Backend \`${context.backend}\`, seeds ${context.seeds.join(", ")}. Values over several ` +
    "seeds are mean ± std [95% confidence interval, Student t]; ↓ lower is better, ↑ higher is " +
    "better, no arrow: no direction. Bold: the best of a column within its block.",
    "",
  ];
  for (const table of tables) lines.push(...tableMarkdown(table, "##"));
  if (unfinished.length) {
    lines.push(
      "Not counted: " +
        unfinished.map((r) => `\`${r.run_id}\` (${r.status})`).join(", ") + ".",
      "",
    );
  }
  lines.push(
    "Each run's folder under `runs/` holds its provenance (`run.json`), metrics, learning " +
      "curves and images; `deno task report` draws the full report.",
    "",
  );
  return lines.join("\n");
}
