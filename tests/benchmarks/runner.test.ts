import assert from "node:assert/strict";
import { join } from "node:path";
import { bench } from "../../cli/bench.ts";
import { METRICS, type MetricValue } from "../../metrics/metric.ts";
import type { MetricsFile } from "../../benchmarks/runner.ts";

async function runCi(out: string, models: string[] | null, seeds = [3]): Promise<MetricsFile[]> {
  return await bench({
    suite: "ci",
    models,
    dataset: "synthetic",
    dataDir: undefined,
    backend: "cpu",
    seeds,
    out,
    quiet: true,
  });
}

Deno.test("the ci suite runs end to end on the synthetic data and writes the output contract", async () => {
  const out = await Deno.makeTempDir();
  const results = await runCi(out, ["bernoulli", "vae-mlp", "gan-mlp"]);
  assert.deepEqual(results.map((r) => r.model), ["bernoulli", "vae-mlp", "gan-mlp"]);
  const folders = [...Deno.readDirSync(join(out, "runs"))].map((e) => e.name).sort();
  // The ci suite's Parzen protocol also writes its real-data reference row, which is not a run.
  const runs = folders.filter((name) => !name.startsWith("real-data-"));
  assert.equal(runs.length, 3);
  assert.equal(folders.length, 4);
  for (const run of runs) {
    const dir = join(out, "runs", run);
    const metrics = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
    assert.deepEqual(
      Object.keys(metrics).slice(0, 4),
      ["model", "variant", "dataset", "seed"].slice(0, 4),
    );
    assert.equal(metrics.dataset, "synthetic");
    assert.equal(metrics.seed, 3);
    assert.equal(metrics.backend, "cpu");
    for (const [name, value] of Object.entries(metrics.metrics) as [string, MetricValue][]) {
      assert.ok(METRICS[name], `unknown metric ${name}`);
      assert.equal(value.unit, METRICS[name].unit);
      assert.ok(Number.isFinite(value.value), `${name} is ${value.value}`);
      assert.ok(["lower", "higher", "none"].includes(value.better));
    }
    const record = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
    assert.equal(record.status, "finished");
    assert.match(record.provenance.dataset.sha256, /^[0-9a-f]{64}$/);
    assert.equal(record.provenance.backend, "cpu");
    const curves = (await Deno.readTextFile(join(dir, "curves.jsonl"))).trim().split("\n");
    assert.ok(curves.length >= 10);
    assert.ok("step" in JSON.parse(curves[0]));
    const png = await Deno.readFile(join(dir, "samples.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  }
  const byModel = Object.fromEntries(results.map((r) => [r.model, r.metrics]));
  assert.equal(byModel.bernoulli.nll_nats.kind, "exact");
  assert.equal(byModel["vae-mlp"].elbo_nats.kind, "elbo");
  assert.equal(byModel["vae-mlp"].nll_nats.kind, "iwae-k");
  // −IWAE-k ≤ −ELBO, and −ELBO = recon + KL exactly.
  assert.ok(byModel["vae-mlp"].iwae_nats.value <= byModel["vae-mlp"].elbo_nats.value);
  const { elbo_nats, elbo_recon_nats, kl_nats } = byModel["vae-mlp"];
  assert.ok(Math.abs(elbo_nats.value - elbo_recon_nats.value - kl_nats.value) < 1e-3);
  assert.equal(byModel["gan-mlp"].nll_nats, undefined);
  const summary = await Deno.readTextFile(join(out, "summary.md"));
  // A row per model over its seed; the GAN has no likelihood of its own (—).
  assert.match(summary, /\| vae-mlp \| 3 \| \d/);
  assert.match(summary, /\| Likelihood \(exact\) \| bernoulli \|/);
  assert.match(summary, /\| gan-mlp \| 3 \| — \|/);
  // The real-data row of the Parzen column (the ceiling) is in the summary as in the report.
  assert.match(summary, /\| \*real data \(reference\)\* \|/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("the same seed twice on the cpu backend gives identical metrics (times aside)", async () => {
  const out = await Deno.makeTempDir();
  const strip = (runs: MetricsFile[]) =>
    runs.map((r) =>
      Object.fromEntries(Object.entries(r.metrics).filter(([name]) => !METRICS[name].timing))
    );
  const first = strip(await runCi(join(out, "a"), ["bernoulli", "vae-mlp"], [11]));
  const second = strip(await runCi(join(out, "b"), ["bernoulli", "vae-mlp"], [11]));
  assert.deepEqual(first, second);
  const other = strip(await runCi(join(out, "c"), ["vae-mlp"], [12]));
  assert.notDeepEqual(other[0].elbo_nats, first[1].elbo_nats);
  await Deno.remove(out, { recursive: true });
});
