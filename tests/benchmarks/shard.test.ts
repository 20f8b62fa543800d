/**
 * Sharding: the split is a partition of the suite whatever the order of its input, `--shard` and
 * the Slurm array variables are parsed strictly, and a `ci` suite run in two shards (one through
 * `--shard`, one in a subprocess through SLURM_ARRAY_TASK_ID) gives the metrics and the merged
 * report of the unsharded run, apart from times and speeds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bench, type BenchOptions, parseBenchArgs } from "../../cli/bench.ts";
import { UsageError } from "../../core/errors.ts";
import { METRICS } from "../../metrics/metric.ts";
import { SUITES } from "../../benchmarks/suites.ts";
import type { MetricsFile } from "../../benchmarks/runner.ts";
import {
  parseShard,
  selectShard,
  shardFromEnv,
  shardKey,
  type ShardRun,
  splitShards,
} from "../../benchmarks/shard.ts";
import { writeReport } from "../../reports/report.ts";
import { CI_CPU, cli } from "../_run.ts";

/** Every run of a suite for these seeds, in the order of the suite. */
function suiteRuns(suite: string, seeds: number[]): ShardRun[] {
  return SUITES[suite].entries.flatMap((e) =>
    seeds.map((seed) => ({ model: e.model, variant: e.variant, seed, steps: e.steps }))
  );
}

/** A seeded shuffle (a tiny LCG; the test needs different orders, not good randomness). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const keysOf = (shards: ShardRun[][]) => shards.map((s) => s.map(shardKey).sort());

Deno.test("shards: disjoint, covering, balanced and independent of input order (n = 1..5)", () => {
  for (const suite of Object.keys(SUITES)) {
    for (const seeds of [[1], [1, 2, 3]]) {
      const runs = suiteRuns(suite, seeds);
      const all = runs.map(shardKey).sort();
      for (let n = 1; n <= 5; n++) {
        const shards = splitShards(runs, n, (r) => r);
        assert.equal(shards.length, n);
        const union = shards.flat().map(shardKey).sort();
        assert.deepEqual(union, all, `${suite} n=${n}: the union is the suite, each run once`);
        // Greedy balancing: no shard is behind another by more than the largest budget.
        const loads = shards.map((s) => s.reduce((sum, r) => sum + r.steps, 0));
        const largest = Math.max(...runs.map((r) => r.steps));
        assert.ok(Math.max(...loads) - Math.min(...loads) <= largest, `${suite} n=${n}: ${loads}`);
        if (runs.length >= n) assert.ok(shards.every((s) => s.length > 0));
        for (const order of [1, 2, 3]) {
          const again = splitShards(shuffled(runs, order), n, (r) => r);
          assert.deepEqual(keysOf(again), keysOf(shards), `${suite} n=${n}: order ${order}`);
        }
        for (let i = 1; i <= n; i++) {
          assert.deepEqual(selectShard(runs, { index: i, count: n }, (r) => r), shards[i - 1]);
        }
      }
    }
  }
  // Each shard keeps the input order of its runs.
  const runs = suiteRuns("ci", [1, 2]);
  for (const shard of splitShards(runs, 2, (r) => r)) {
    const positions = shard.map((r) => runs.indexOf(r));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
  }
  assert.throws(() => splitShards(runs, 0, (r) => r), RangeError);
  assert.throws(() => splitShards([...runs, runs[0]], 2, (r) => r), /same shard key/);
});

Deno.test("shards: the same for any order of --seeds, --seed and --models", () => {
  const plan = (args: string[]) => {
    const o = parseBenchArgs(["--suite", "ci", "--shard", "1/1", ...args]) as BenchOptions;
    const entries = SUITES.ci.entries.filter((e) => o.models!.includes(e.model));
    const runs = entries.flatMap((e) =>
      o.seeds.map((seed) => ({ model: e.model, variant: e.variant, seed, steps: e.steps }))
    );
    return [1, 2, 3].map((i) => selectShard(runs, { index: i, count: 3 }, (r) => r).map(shardKey));
  };
  const a = plan(["--models", "bernoulli,vae-mlp,made", "--seeds", "1,2,3"]);
  const b = plan(["--seed", "3", "--models", "made,bernoulli,vae-mlp", "--seeds", "2,1"]);
  assert.deepEqual(a.map((s) => s.sort()), b.map((s) => s.sort()));
});

Deno.test("--shard and the Slurm array variables: parsed strictly, one-line errors", () => {
  assert.deepEqual(parseShard("2/4"), { index: 2, count: 4 });
  assert.deepEqual(parseShard(" 1 / 1 "), { index: 1, count: 1 });
  for (const bad of ["0/3", "4/3", "1/0", "a/b", "1", "-1/2", "1.5/3", "2/3/4", ""]) {
    assert.throws(() => parseShard(bad), (e: Error) => {
      assert.ok(e instanceof UsageError, bad);
      assert.match(e.message, /^--shard: ".*" is not a shard \(expected i\/n/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(shardFromEnv(env({})), null);
  assert.deepEqual(
    shardFromEnv(env({
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "4",
      SLURM_ARRAY_TASK_COUNT: "4",
    })),
    { index: 3, count: 4 },
  );
  // 0-based arrays and arrays with a step map onto shards 1..n.
  assert.deepEqual(
    shardFromEnv(
      env({ SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_MAX: "2" }),
    ),
    { index: 1, count: 3 },
  );
  assert.deepEqual(
    shardFromEnv(env({
      SLURM_ARRAY_TASK_ID: "14",
      SLURM_ARRAY_TASK_MIN: "10",
      SLURM_ARRAY_TASK_MAX: "16",
      SLURM_ARRAY_TASK_STEP: "2",
    })),
    { index: 3, count: 4 },
  );
  const bad: Record<string, string>[] = [
    { SLURM_ARRAY_TASK_ID: "1" }, // no MIN/MAX
    { SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_MAX: "2" },
    // --array=1,4,9: three tasks, not a range.
    {
      SLURM_ARRAY_TASK_ID: "4",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "9",
      SLURM_ARRAY_TASK_COUNT: "3",
    },
  ];
  for (const vars of bad) {
    assert.throws(() => shardFromEnv(env(vars)), (e: Error) => {
      assert.ok(e instanceof UsageError, JSON.stringify(vars));
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

/** Every metric that is not a time or a speed. */
function nonTiming(metrics: MetricsFile["metrics"]) {
  return Object.fromEntries(Object.entries(metrics).filter(([name]) => !METRICS[name].timing));
}

/** metrics.json of every run under `out`, by model and seed. */
async function metricsOf(out: string): Promise<Map<string, MetricsFile>> {
  const found = new Map<string, MetricsFile>();
  for await (const entry of Deno.readDir(join(out, "runs"))) {
    const file: MetricsFile = JSON.parse(
      await Deno.readTextFile(join(out, "runs", entry.name, "metrics.json")),
    );
    const key = `${file.model}#${file.seed}`;
    assert.ok(!found.has(key), `${key} was run twice`);
    found.set(key, file);
  }
  return found;
}

/** tables.csv without the columns and rows that hold times, speeds or run ids. */
async function tablesOf(out: string): Promise<string[][]> {
  const report = join(out, "report-test");
  await writeReport(out, report, { useCanvas: false, say: () => {} });
  const [header, ...rows] = (await Deno.readTextFile(join(report, "tables.csv")))
    .trim().split("\n").map((line) => line.split(","));
  const metric = header.indexOf("metric");
  const dropped = ["run_ids", "best"].map((name) => header.indexOf(name));
  assert.ok(metric >= 0 && dropped.every((i) => i >= 0), header.join(","));
  return rows
    .filter((row) => !METRICS[row[metric]]?.timing)
    .map((row) => row.filter((_, i) => !dropped.includes(i)));
}

Deno.test("a ci suite run in 2 shards (--shard, and SLURM_ARRAY_TASK_ID) equals the unsharded run", async () => {
  const base = await Deno.makeTempDir({ prefix: "genbench-shard-" });
  const options = (out: string): BenchOptions => ({
    suite: "ci",
    models: ["bernoulli", "vae-mlp"],
    dataset: "synthetic",
    dataDir: undefined,
    backend: "cpu",
    seeds: [1, 2],
    out,
    quiet: true,
    checkpointEvery: 0,
  });
  const whole = join(base, "whole");
  await bench({ ...options(whole), shard: null });

  const sharded = join(base, "sharded");
  const first = await bench({ ...options(sharded), shard: { index: 1, count: 2 } });
  assert.equal(first.length, 2);
  // Shard 2 as a Slurm array task would run it: no --shard, the array variables in the env.
  const { code, stdout, stderr } = await cli(
    ["bench", ...CI_CPU, "--models", "vae-mlp,bernoulli", "--seeds", "2,1"]
      .concat("--checkpoint-every", "0", "--out", sharded),
    {
      SLURM_ARRAY_TASK_ID: "2",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "2",
      SLURM_ARRAY_TASK_COUNT: "2",
    },
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /shard 2\/2: 2 of 4 run\(s\)/);
  assert.match(stdout, /summary-shard-2-of-2\.md/);
  assert.match(stdout, /deno task report --results /);

  const expected = await metricsOf(whole);
  const actual = await metricsOf(sharded);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [key, file] of expected) {
    assert.equal(actual.get(key)!.status, "finished", key);
    assert.deepEqual(nonTiming(actual.get(key)!.metrics), nonTiming(file.metrics), key);
  }
  // Each shard wrote its own summary, not the suite's, and no report of its own.
  const names = [...Deno.readDirSync(sharded)].map((e) => e.name).sort();
  assert.deepEqual(names, ["runs", "summary-shard-1-of-2.md", "summary-shard-2-of-2.md"]);
  // The merged report of the shards has the tables of the unsharded run.
  const tables = await tablesOf(whole);
  assert.ok(tables.length > 4);
  assert.deepEqual(await tablesOf(sharded), tables);
  await Deno.remove(base, { recursive: true });
});
