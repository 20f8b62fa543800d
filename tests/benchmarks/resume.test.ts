/**
 * Interruption and resumption, end to end through the CLI in a subprocess: SIGKILL and --resume,
 * Ctrl-C (SIGINT) and --resume, a full disk, bad checkpoints. Each resumed run must end with the
 * same values as an uninterrupted run of the same seed, for every metric that is not a time.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { bench } from "../../cli/bench.ts";
import { METRICS } from "../../metrics/metric.ts";
import type { MetricsFile } from "../../benchmarks/runner.ts";
import {
  CI_CPU,
  decode,
  deno,
  MOD,
  posixTest,
  readJson,
  startUntil,
  tempFiles,
  waitFor,
} from "../_run.ts";

function benchArgs(out: string, models: string, seed: number, ...extra: string[]): string[] {
  return ["run", "-A", MOD, "bench", ...CI_CPU, "--models", models, "--seed", String(seed)]
    .concat("--out", out, ...extra);
}

const cli = deno;

/** `bench` of `models` started in the background until its last model has a checkpoint. */
function benchUntilCheckpoint(out: string, models: string, seed: number, stderr: "null" | "piped") {
  const args = benchArgs(out, models, seed, "--checkpoint-every", "2", "--quiet");
  return startUntil(
    args,
    { out, model: models.split(",").at(-1)!, file: "checkpoint.bin" },
    stderr,
  );
}

/** The run folder of each model under `out`. */
async function runDirs(out: string): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  for await (const entry of Deno.readDir(join(out, "runs"))) {
    const record = await readJson(join(out, "runs", entry.name, "run.json"));
    dirs[record.model] = join(out, "runs", entry.name);
  }
  return dirs;
}

/** Every metric that is not a time or a speed. */
function nonTiming(metrics: MetricsFile["metrics"]) {
  return Object.fromEntries(Object.entries(metrics).filter(([name]) => !METRICS[name].timing));
}

/** The curves without their clock readings. */
async function curvesOf(dir: string) {
  const text = await Deno.readTextFile(join(dir, "curves.jsonl"));
  return text.trim().split("\n").map((line) => {
    const { seconds: _, ...rest } = JSON.parse(line);
    return rest;
  });
}

/** The uninterrupted reference: the same runs in this process, without checkpoints. */
async function reference(out: string, models: string[], seed: number) {
  const results = await bench({
    suite: "ci",
    models,
    dataset: "synthetic",
    dataDir: undefined,
    backend: "cpu",
    seeds: [seed],
    out,
    quiet: true,
    checkpointEvery: 0,
  });
  return { results, dirs: await runDirs(out) };
}

async function assertSameAsReference(
  out: string,
  ref: Awaited<ReturnType<typeof reference>>,
): Promise<void> {
  const dirs = await runDirs(out);
  for (const expected of ref.results) {
    const dir = dirs[expected.model];
    const actual: MetricsFile = await readJson(join(dir, "metrics.json"));
    assert.equal(actual.status, "finished");
    assert.deepEqual(nonTiming(actual.metrics), nonTiming(expected.metrics), expected.model);
    assert.deepEqual(await curvesOf(dir), await curvesOf(ref.dirs[expected.model]));
    // A finished run keeps no checkpoint.
    await assert.rejects(Deno.stat(join(dir, "checkpoint.bin")), Deno.errors.NotFound);
  }
  assert.deepEqual(await tempFiles(out), []);
}

posixTest(
  "a run killed (SIGKILL) mid-training resumes with --resume to identical metrics",
  async () => {
    const root = await Deno.makeTempDir();
    const out = join(root, "killed");
    const { child, dir } = await benchUntilCheckpoint(out, "bernoulli,vae-mlp", 4, "null");
    child.kill("SIGKILL");
    assert.equal((await child.status).signal, "SIGKILL");
    const killed = await readJson(join(dir, "run.json"));
    assert.equal(killed.status, "running");
    assert.ok(killed.steps_done < 40, `steps_done ${killed.steps_done}`);
    await assert.rejects(Deno.stat(join(dir, "metrics.json")), Deno.errors.NotFound);

    // A damaged checkpoint is refused in one line before any training (on a copy of the folder).
    const damaged = join(root, "damaged");
    await new Deno.Command("cp", { args: ["-r", out, damaged] }).output();
    const copy = join(damaged, "runs", basename(dir), "checkpoint.bin");
    const bytes = await Deno.readFile(copy);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(copy, bytes);
    const refused = await cli(benchArgs(damaged, "bernoulli,vae-mlp", 4, "--resume"));
    assert.equal(refused.code, 2, refused.stderr);
    const lines = refused.stderr.trim().split("\n");
    assert.match(lines.at(-1)!, /^genbench: .*checkpoint\.bin: checkpoint data does not match/);
    assert.ok(!refused.stderr.includes("step "), "training started before the check");

    const resumed = await cli(benchArgs(out, "bernoulli,vae-mlp", 4, "--resume"));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /bernoulli seed 4: already finished in /);
    assert.match(resumed.stderr, /vae-mlp seed 4: resuming .* at step \d+\/40/);
    const record = await readJson(join(dir, "run.json"));
    assert.equal(record.status, "finished");
    assert.equal(record.resumed.length, 1);
    assert.equal(record.resumed[0].genbench_commit, record.provenance.genbench_commit);
    assert.equal(record.steps_done, 40);

    await assertSameAsReference(
      out,
      await reference(join(root, "ref"), ["bernoulli", "vae-mlp"], 4),
    );
    const summary = await Deno.readTextFile(join(out, "summary.md"));
    assert.match(summary, /\| vae-mlp \| 4 \|/); // a row of the table, over its one seed
    assert.ok(!summary.includes("Not counted"), "every run finished");
    // Everything is finished now: a further --resume only skips.
    const again = await cli(benchArgs(out, "bernoulli,vae-mlp", 4, "--resume"));
    assert.equal(again.code, 0);
    assert.equal((again.stderr.match(/already finished/g) ?? []).length, 2);
    await Deno.remove(root, { recursive: true });
  },
);

posixTest(
  "Ctrl-C stops at a step boundary: checkpoint, status interrupted, exit 130; --resume finishes",
  async () => {
    const root = await Deno.makeTempDir();
    const out = join(root, "interrupted");
    const { child, dir } = await benchUntilCheckpoint(out, "gan-mlp", 6, "piped");
    child.kill("SIGINT");
    const output = await child.output();
    assert.equal(output.code, 130);
    const stderr = decode(output.stderr);
    assert.match(stderr, /Ctrl-C: stopping at the next step/);
    assert.match(stderr, /interrupted \[gan-mlp seed 6\] at step \d+\/20; checkpoint saved/);
    const record = await readJson(join(dir, "run.json"));
    const partial: MetricsFile = await readJson(join(dir, "metrics.json"));
    assert.equal(record.status, "interrupted");
    assert.equal(record.finished_at, null);
    assert.equal(partial.status, "interrupted");
    assert.equal(partial.metrics.nll_nats, undefined);
    // No summary claims anything about an unfinished suite.
    await assert.rejects(Deno.stat(join(out, "summary.md")), Deno.errors.NotFound);

    const resumed = await cli(benchArgs(out, "gan-mlp", 6, "--resume", "--quiet"));
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertSameAsReference(out, await reference(join(root, "ref"), ["gan-mlp"], 6));
    await Deno.remove(root, { recursive: true });
  },
);

posixTest("a second Ctrl-C marks the run and exits at once with status 130", async () => {
  const runner = new URL("../../benchmarks/runner.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { StopRequest } from "${runner}";
       const stop = new StopRequest().listen();
       stop.onExit = () => console.log("marked");
       console.log("ready");
       setInterval(() => { if (stop.requested) console.log("requested"); }, 10);`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) seen += (await reader.read()).value ?? "";
  child.kill("SIGINT");
  while (!seen.includes("requested")) seen += (await reader.read()).value ?? "";
  // Still running after the first Ctrl-C: it waits for a step boundary.
  child.kill("SIGINT");
  while (!seen.includes("marked")) seen += (await reader.read()).value ?? "";
  await reader.cancel();
  assert.equal((await child.status).code, 130);
  assert.match(await new Response(child.stderr).text(), /second Ctrl-C: exiting now/);
});

posixTest(
  "a full disk stops the run with one clear line and leaves no half-written file",
  async () => {
    const out = await Deno.makeTempDir();
    // RLIMIT_FSIZE makes every write past 1000 KiB fail with EFBIG, as a full disk would
    // (ENOSPC); unlike file permissions it also binds root. SIGXFSZ is ignored so that the write
    // fails instead of killing the process. The first vae-mlp checkpoint (~2 MB) hits it.
    const command = ["trap '' XFSZ", "ulimit -f 1000", 'exec "$@"'].join("; ");
    const output = await new Deno.Command("bash", {
      args: [
        "-c",
        command,
        "bash",
        Deno.execPath(),
        ...benchArgs(out, "vae-mlp", 1, "--checkpoint-every", "2", "--quiet"),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 2);
    const lines = decode(output.stderr).trim().split("\n");
    assert.equal(lines.length, 1, decode(output.stderr));
    assert.match(lines[0], /^genbench: cannot write .*checkpoint\.bin \(File too large/);
    assert.match(lines[0], /make room, then continue with --resume/);
    assert.deepEqual(await tempFiles(out), []);
    const [dir] = Object.values(await runDirs(out));
    const record = await readJson(join(dir, "run.json"));
    assert.equal(record.status, "running"); // never shown as finished
    await assert.rejects(Deno.stat(join(dir, "checkpoint.bin")), Deno.errors.NotFound);
    await Deno.remove(out, { recursive: true });
  },
);

Deno.test("bad resume input is one line, exit 2: flags, a damaged run.json", async () => {
  const out = await Deno.makeTempDir();
  for (const value of ["1.5", "often"]) {
    const bad = await cli(benchArgs(out, "bernoulli", 1, "--checkpoint-every", value));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.trim(), /^genbench: --checkpoint-every: "[^"]+" is not a step count/);
  }
  await Deno.mkdir(join(out, "runs", "old"), { recursive: true });
  await Deno.writeTextFile(join(out, "runs", "old", "run.json"), "{ half");
  const broken = await cli(benchArgs(out, "bernoulli", 1, "--resume", "--quiet"));
  assert.equal(broken.code, 2);
  assert.match(broken.stderr.trim(), /^genbench: \S*run\.json: malformed: not JSON[^\n]*$/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a NaN or infinite loss stops that run as diverged, says so, and the suite goes on", async () => {
  const { SUITES } = await import("../../benchmarks/suites.ts");
  SUITES["test-diverge"] = {
    name: "test-diverge",
    description: "a run that blows up, then one that does not",
    entries: [
      { model: "bernoulli", steps: 30, variant: "lr1e38", options: { learningRate: 1e38 } },
      { model: "bernoulli", steps: 5, options: { batchSize: 16 } },
    ],
    evalCount: 50,
    iwaeK: 0,
    sampleCount: 4,
  };
  const out = await Deno.makeTempDir();
  const said: string[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => said.push(args.join(" "));
  const options = {
    suite: "test-diverge",
    models: null,
    dataset: "synthetic",
    dataDir: undefined,
    backend: "cpu" as const,
    seeds: [1],
    out,
    quiet: true,
  };
  let results: MetricsFile[];
  try {
    results = await bench(options);
  } finally {
    console.error = error;
  }
  assert.deepEqual(results.map((r) => r.status), ["diverged", "finished"]);
  assert.equal(results[0].metrics.nll_nats, undefined);
  assert.ok(Number.isFinite(results[1].metrics.nll_nats.value));
  const line = said.find((text) => text.includes("diverged"));
  assert.match(
    line ?? "",
    /^genbench: \[bernoulli \(lr1e38\) seed 1\] diverged at step \d+ \(nll = (NaN|Infinity)\); run marked "diverged", the suite goes on$/,
  );
  const dirs = [...Deno.readDirSync(join(out, "runs"))].map((e) => join(out, "runs", e.name));
  const records = await Promise.all(dirs.map((dir) => readJson(join(dir, "run.json"))));
  assert.deepEqual(records.map((r) => r.status).sort(), ["diverged", "finished"]);
  const summary = await Deno.readTextFile(join(out, "summary.md"));
  assert.match(summary, /Not counted: `bernoulli-lr1e38-synthetic-seed1-\S+` \(diverged\)/);
  // A diverged run is final: --resume skips it rather than repeating it.
  console.error = (...args: unknown[]) => said.push(args.join(" "));
  try {
    const again = await bench({ ...options, resume: true, quiet: false });
    assert.deepEqual(again.map((r) => r.status), ["diverged", "finished"]);
  } finally {
    console.error = error;
  }
  assert.ok(said.some((text) => /bernoulli \(lr1e38\) seed 1: already diverged/.test(text)));
  delete SUITES["test-diverge"];
  await Deno.remove(out, { recursive: true });
});

posixTest(
  "Ctrl-C during evaluation lets that run finish and stops the suite before the next",
  async () => {
    // A suite with a slow evaluation (IWAE-40 on 200 images), registered in a child process.
    const suite = {
      name: "test-slow-eval",
      description: "two steps and a slow evaluation, then a short run",
      entries: [
        { model: "vae-mlp", steps: 2, options: { batchSize: 16 } },
        { model: "bernoulli", steps: 30, options: { batchSize: 16 } },
      ],
      evalCount: 200,
      iwaeK: 40,
      sampleCount: 4,
    };
    const script = `
    import { SUITES } from "${new URL("../../benchmarks/suites.ts", import.meta.url).href}";
    import { main } from "${new URL("../../cli/main.ts", import.meta.url).href}";
    SUITES[${JSON.stringify(suite.name)}] = ${JSON.stringify(suite)};
    Deno.exit(await main(Deno.args));`;
    const root = await Deno.makeTempDir();
    const out = join(root, "eval");
    const args = ["eval", script, "bench", "--suite", suite.name, "--dataset", "synthetic"];
    args.push("--backend", "cpu", "--out", out, "--checkpoint-every", "5", "--quiet");
    const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
      .spawn();
    // weights.bin is written when training ends, just before evaluation starts.
    const vae = await waitFor(out, "vae-mlp", "weights.bin");
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGINT");
    const output = await child.output();
    assert.equal(output.code, 130, decode(output.stderr));
    // The evaluated run is complete; the next one was not started, or stopped at a step.
    assert.equal((await readJson(join(vae, "run.json"))).status, "finished");
    const dirs = await runDirs(out);
    if (dirs.bernoulli) {
      assert.equal((await readJson(join(dirs.bernoulli, "run.json"))).status, "interrupted");
    } else assert.match(decode(output.stderr), /stopped before \[bernoulli seed 1\]/);

    const resumed = await deno([...args, "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);

    const { SUITES } = await import("../../benchmarks/suites.ts");
    SUITES[suite.name] = suite;
    try {
      const ref = join(root, "ref");
      const results = await bench({
        suite: suite.name,
        models: null,
        dataset: "synthetic",
        dataDir: undefined,
        backend: "cpu",
        seeds: [1],
        out: ref,
        quiet: true,
      });
      await assertSameAsReference(out, { results, dirs: await runDirs(ref) });
    } finally {
      delete SUITES[suite.name];
    }
    await Deno.remove(root, { recursive: true });
  },
);
