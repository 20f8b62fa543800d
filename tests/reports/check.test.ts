import assert from "node:assert/strict";
import { join } from "node:path";
import { collectRuns } from "../../reports/collect.ts";
import {
  type Baseline,
  baselineFromSpread,
  checkRuns,
  parseBaseline,
} from "../../reports/check.ts";
import { cli, type FakeRun, mv, withReportDir, writeResults } from "./_fixtures.ts";
import { CI_CPU } from "../_run.ts";

const BASELINE: Baseline = {
  suite: "ci",
  dataset: "synthetic",
  backend: "cpu",
  tolerance_rules: { default: { relative: 0.05, why: "test" } },
  runs: [{
    model: "vae",
    variant: null,
    seed: 1,
    metrics: {
      nll_nats: { expected: 40, tolerance: 1, better: "lower", kind: "iwae-k", k: 10 },
      score: { expected: 5, tolerance: 0.5, better: "higher" },
      params: { expected: 100, tolerance: 0, better: "lower" },
    },
  }],
};

function vaeRun(nll: number, score: number, extra: Partial<FakeRun> = {}): FakeRun {
  return {
    model: "vae",
    seed: 1,
    metrics: {
      nll_nats: mv(nll, "lower", "nats", { kind: "iwae-k", k: 10 }),
      score: mv(score, "higher", "points"),
      params: mv(100, "lower", "count"),
      train_seconds: mv(3, "lower", "s"),
    },
    ...extra,
  };
}

async function check(runs: FakeRun[], baseline = BASELINE) {
  return await withReportDir(async (dir) => {
    await writeResults(dir, runs);
    return checkRuns((await collectRuns(dir)).runs, baseline);
  });
}

function statusOf(result: Awaited<ReturnType<typeof check>>, metric: string): string {
  return result.lines.find((l) => l.metric === metric)!.status;
}

Deno.test("check: tolerance respects each metric's direction", async () => {
  // Within tolerance both ways: ok.
  let result = await check([vaeRun(40.9, 4.6)]);
  assert.equal(statusOf(result, "nll_nats"), "ok");
  assert.equal(statusOf(result, "score"), "ok");
  assert.equal(result.passed, true);
  // NLL up (lower is better) and score down (higher is better) beyond tolerance: worse.
  result = await check([vaeRun(41.5, 4.4)]);
  assert.equal(statusOf(result, "nll_nats"), "worse");
  assert.equal(statusOf(result, "score"), "worse");
  assert.equal(result.passed, false);
  // The same distances the other way are improvements, which pass.
  result = await check([vaeRun(38.5, 5.6)]);
  assert.equal(statusOf(result, "nll_nats"), "better");
  assert.equal(statusOf(result, "score"), "better");
  assert.equal(statusOf(result, "params"), "ok");
  assert.equal(result.passed, true);
  // A metric the baseline does not know is shown as new and passes; timing is never shown.
  const extra = vaeRun(40, 5);
  extra.metrics!.fid = mv(12, "lower", "");
  result = await check([extra]);
  assert.equal(statusOf(result, "fid"), "new");
  assert.ok(!result.lines.some((l) => l.metric === "train_seconds"));
  assert.equal(result.passed, true);
});

Deno.test("check: a missing run, a diverged run, a dropped metric or a changed kind fails", async () => {
  let result = await check([{ model: "other", seed: 1, metrics: { x: mv(1) } }]);
  assert.deepEqual(result.lines.map((l) => l.status), ["missing", "missing", "missing", "new"]);
  assert.equal(result.passed, false);
  result = await check([vaeRun(40, 5, { status: "diverged" })]);
  assert.equal(statusOf(result, "nll_nats"), "missing");
  assert.match(result.lines[0].note, /diverged/);
  assert.equal(result.passed, false);
  const noScore = vaeRun(40, 5);
  delete noScore.metrics!.score;
  result = await check([noScore]);
  assert.equal(statusOf(result, "score"), "missing");
  assert.equal(result.passed, false);
  const exact = vaeRun(40, 5);
  exact.metrics!.nll_nats = mv(40, "lower", "nats", { kind: "exact" });
  result = await check([exact]);
  assert.equal(statusOf(result, "nll_nats"), "missing");
  assert.match(result.lines.find((l) => l.metric === "nll_nats")!.note, /kind changed/);
  // Runs of another backend are not this baseline's runs.
  result = await check([vaeRun(40, 5, { backend: "webgpu" })]);
  assert.equal(result.passed, false);
});

Deno.test("check: a malformed baseline ends in one line naming the file", () => {
  assert.throws(
    () => parseBaseline("{", "b.json"),
    /^UsageError: b\.json: malformed baseline: not JSON/,
  );
  const bad = structuredClone(BASELINE) as unknown as { runs: { metrics: { score: unknown } }[] };
  bad.runs[0].metrics.score = { expected: "5", tolerance: 1, better: "higher" };
  assert.throws(
    () => parseBaseline(JSON.stringify(bad), "b.json"),
    (e: Error) =>
      e.message === `b.json: malformed baseline: "runs[0].metrics.score.expected" ` +
          "should be a number",
  );
});

Deno.test("deno task check: exit 1 on a regression, 0 on an improvement, and says which", async () => {
  await withReportDir(async (dir) => {
    const baseline = join(dir, "baseline.json");
    await Deno.writeTextFile(baseline, JSON.stringify(BASELINE));
    const worse = join(dir, "worse");
    await writeResults(worse, [vaeRun(42, 5)]);
    let out = await cli(["check", "--baseline", baseline, "--results", worse]);
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stdout, /vae seed 1\s+nll_nats\s+40\s+±1\s+42\s+worse/);
    assert.match(out.stdout, /FAILED/);

    const better = join(dir, "better");
    await writeResults(better, [vaeRun(37, 5)]);
    out = await cli(["check", "--baseline", baseline, "--results", better]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /nll_nats\s+40\s+±1\s+37\s+better/);
    assert.match(out.stdout, /passed; some metrics are better/);

    // --update-baseline records the improvement and keeps the tolerances; timing stays out.
    out = await cli(["check", "--baseline", baseline, "--results", better, "--update-baseline"]);
    assert.equal(out.code, 0, out.stderr);
    const updated = parseBaseline(await Deno.readTextFile(baseline), baseline);
    assert.equal(updated.runs[0].metrics.nll_nats.expected, 37);
    assert.equal(updated.runs[0].metrics.nll_nats.tolerance, 1);
    assert.equal(updated.runs[0].metrics.train_seconds, undefined);
    out = await cli(["check", "--baseline", baseline, "--results", better]);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /nll_nats\s+37\s+±1\s+37\s+ok/);

    // A new baseline takes the one (suite, dataset, backend) of the results.
    const fresh = join(dir, "fresh.json");
    out = await cli(["check", "--baseline", fresh, "--results", better, "--update-baseline"]);
    assert.equal(out.code, 0, out.stderr);
    const made = parseBaseline(await Deno.readTextFile(fresh), fresh);
    assert.deepEqual([made.suite, made.dataset, made.backend], ["ci", "synthetic", "cpu"]);
    assert.equal(made.runs[0].metrics.params.tolerance, 0);
    assert.equal(made.runs[0].metrics.nll_nats.tolerance, 1.85); // 5% of 37

    out = await cli(["check", "--results", better]);
    assert.equal(out.code, 2);
    assert.equal(out.stderr.trim(), "genbench: check: --baseline FILE is required");
  });
});

Deno.test({
  name:
    "deno task check: the ci suite passes its committed baseline and fails a planted regression",
  async fn() {
    await withReportDir(async (dir) => {
      const baseline = "benchmarks/baselines/ci-synthetic.json";
      const real = join(dir, "real");
      const bench = await cli([
        "bench",
        ...CI_CPU,
        "--seed",
        "1",
        "--out",
        real,
        "--quiet",
      ]);
      assert.equal(bench.code, 0, bench.stderr);
      assert.match(bench.stdout, /wrote .*report[\\/]index\.html/);
      let out = await cli(["check", "--baseline", baseline, "--results", real]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.doesNotMatch(out.stdout, / {2}(worse|missing)( {2}|$)/m);

      // Plant a regression in a copy: vae-mlp's IWAE bound 5 nats worse (tolerance 1.3).
      const copy = join(dir, "copy");
      await new Deno.Command("cp", { args: ["-r", real, copy] }).output();
      const runs = join(copy, "runs");
      let planted = false;
      for await (const entry of Deno.readDir(runs)) {
        if (!entry.name.startsWith("vae-mlp-")) continue;
        const path = join(runs, entry.name, "metrics.json");
        const file = JSON.parse(await Deno.readTextFile(path));
        file.metrics.iwae_nats.value += 5;
        await Deno.writeTextFile(path, JSON.stringify(file));
        planted = true;
      }
      assert.ok(planted);
      out = await cli(["check", "--baseline", baseline, "--results", copy]);
      assert.equal(out.code, 1, out.stdout);
      assert.match(out.stdout, /vae-mlp seed 1\s+iwae_nats\s.*\sworse/);
      const worseLines = out.stdout.split("\n").filter((l) => / {2}worse( {2}|$)/.test(l));
      assert.equal(worseLines.length, 1, "only iwae_nats is worse");
    });
  },
});

Deno.test("baselineFromSpread: seed 1's values, tolerance 2 × the sample std over the seeds", async () => {
  await withReportDir(async (dir) => {
    // nll over seeds 1..3: 40, 41, 43 → mean 41.333, sample std √(7/3) = 1.5275 → 2σ = 3.055,
    // rounded up to two digits: 3.1. params identical over the seeds → tolerance 0.
    await writeResults(dir, [
      vaeRun(40, 5),
      vaeRun(41, 5, { seed: 2 }),
      vaeRun(43, 6, { seed: 3 }),
      // A reference row computed from the data: one unseeded run, kept with tolerance 0.
      {
        model: "real-data",
        variant: "test-grey",
        seed: 0,
        family: "real-data",
        metrics: { parzen_ll: mv(88, "higher") },
      },
    ]);
    const { runs } = await collectRuns(dir);
    const baseline = baselineFromSpread(runs, { ...BASELINE, runs: [] }, 1);
    assert.equal(baseline.runs.length, 2);
    const [reference] = baseline.runs.filter((r) => r.model === "real-data");
    assert.equal(reference.seed, 0);
    assert.deepEqual(
      [reference.metrics.parzen_ll.expected, reference.metrics.parzen_ll.tolerance],
      [88, 0],
    );
    const [run] = baseline.runs.filter((r) => r.model === "vae");
    assert.equal(run.seed, 1);
    assert.equal(run.metrics.nll_nats.expected, 40);
    assert.equal(run.metrics.nll_nats.tolerance, 3.1);
    assert.match(run.metrics.nll_nats.why!, /2 x std over seeds 1, 2, 3 \(1\.53\)/);
    assert.equal(run.metrics.nll_nats.kind, "iwae-k");
    // score: 5, 5, 6 → std 0.57735 → 2σ = 1.1547 → 1.2.
    assert.equal(run.metrics.score.tolerance, 1.2);
    assert.equal(run.metrics.params.tolerance, 0);
    assert.match(run.metrics.params.why!, /identical over seeds/);
    assert.equal(run.metrics.train_seconds, undefined); // timing: never in a baseline
    assert.throws(
      () =>
        baselineFromSpread(runs.filter((r) => r.model === "vae" && r.seed === 1), {
          ...BASELINE,
          runs: [],
        }, 1),
      /needs seed 1 and at least one other seed/,
    );
  });
});
