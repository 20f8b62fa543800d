import assert from "node:assert/strict";
import { join } from "node:path";
import { summaryMarkdown, type SummaryRun } from "../../reports/summary.ts";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { buildTables } from "../../reports/tables.ts";
import { tablesMarkdown } from "../../reports/markdown.ts";
import { metricValue } from "../../metrics/metric.ts";
import { tempDir, writeResults } from "./_fixtures.ts";
import { questionRuns } from "./_question_runs.ts";

function run(model: string, nll: number, n: number, kind: "exact" | "elbo"): SummaryRun {
  return {
    model,
    variant: null,
    dataset: "mnist",
    seed: 1,
    backend: "cpu",
    suite: "quick",
    run_id: `${model}-1`,
    status: "finished",
    metrics: { nll_nats: metricValue("nll_nats", nll, { kind, n }) },
  };
}

Deno.test("summary ranks NLLs within their kind and flags NLLs averaged over fewer test images", () => {
  const text = summaryMarkdown(
    [
      run("bernoulli", 207.7, 10_000, "exact"),
      run("nade", 144.9, 2_000, "exact"),
      run("vae-mlp", 169.7, 10_000, "elbo"),
    ],
    { suite: "quick", dataset: "mnist", backend: "cpu", seeds: [1] },
  );
  const rows = text.split("\n").filter((line) => /^\| (nade|bernoulli|vae-mlp) \|/.test(line));
  assert.deepEqual(rows.map((r) => r.split(" | ")[0].slice(2)), ["nade", "bernoulli", "vae-mlp"]);
  assert.match(rows[0], /\*\*144\.90\*\*¹/);
  assert.match(text, /¹ first 2,000 of 10,000 test images\./);
  assert.match(text, /\| \*Exact likelihood\* \|/);
  assert.match(text, /\| \*ELBO bound\* \|/);
  assert.match(text, /\| Likelihood \(exact\) \| nade \| 144\.90 nats \|/);
});

Deno.test("summary.md's tables are tables.md's tables: one table model", async () => {
  const [dir, cleanup] = await tempDir();
  try {
    const runs = questionRuns();
    await writeResults(dir, runs);
    const tables = buildTables(groupRuns((await collectRuns(dir)).runs));
    const report = tablesMarkdown(tables);
    const metrics: SummaryRun[] = [];
    for await (const entry of Deno.readDir(join(dir, "runs"))) {
      metrics.push(
        JSON.parse(await Deno.readTextFile(join(dir, "runs", entry.name, "metrics.json"))),
      );
    }
    const summary = summaryMarkdown(metrics, {
      suite: "quick",
      dataset: "mnist",
      backend: "cpu",
      seeds: [1, 2, 3],
    });
    // Every table line of the summary (ranked summary and question tables) is in tables.md.
    const tableLines = summary.split("\n").filter((l) => l.startsWith("|"));
    assert.ok(tableLines.length > 30, `only ${tableLines.length} table lines`);
    const reportLines = new Set(report.split("\n"));
    for (const line of tableLines) assert.ok(reportLines.has(line), `not in tables.md: ${line}`);
    // And the same questions, in the same order.
    const headings = (text: string, level: string) =>
      text.split("\n").filter((l) => l.startsWith(`${level} `)).map((l) =>
        l.slice(level.length + 1)
      );
    assert.deepEqual(
      headings(summary, "##"),
      headings(report, "###").filter((h) => h !== "Runs"),
    );
  } finally {
    await cleanup();
  }
});
