import assert from "node:assert/strict";
import { summaryMarkdown } from "../../reports/summary.ts";
import type { MetricsFile } from "../../benchmarks/runner.ts";
import { metricValue } from "../../metrics/metric.ts";

function run(model: string, nll: number, n: number, kind: "exact" | "elbo"): MetricsFile {
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

Deno.test("summary ranks by NLL, labels each kind, and flags NLLs averaged over fewer test images", () => {
  const text = summaryMarkdown(
    [
      run("bernoulli", 207.7, 10_000, "exact"),
      run("nade", 144.9, 2_000, "exact"),
      run("vae-mlp", 169.7, 10_000, "elbo"),
    ],
    { suite: "quick", dataset: "mnist", backend: "cpu", seeds: [1] },
  );
  const rows = text.split("\n").filter((line) => /^\| \d/.test(line));
  assert.deepEqual(rows.map((r) => r.split(" | ")[1]), ["nade", "vae-mlp", "bernoulli"]);
  assert.match(rows[0], /144\.90 \(exact, first 2,000 test images\)/);
  assert.match(rows[1], /169\.70 \(−ELBO bound\) \|/);
  assert.match(rows[2], /207\.70 \(exact\) \|/);
});
