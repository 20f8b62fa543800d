/**
 * Hostile input to `bench`, through the CLI in a subprocess: SIGTERM, a second Ctrl-C in the
 * middle of a write, temp files left by a killed run, a tampered run.json under --resume, and a
 * results folder whose report cannot be written. Each ends in one line and a documented exit
 * status, and leaves nothing half-written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, deno, MOD, posixTest, readJson, startUntil, tempFiles } from "../_run.ts";

function benchArgs(out: string, ...extra: string[]): string[] {
  return ["run", "-A", MOD, "bench", "--dataset", "synthetic", "--backend", "cpu", "--out", out]
    .concat(extra);
}

const cli = deno;

/** A finished bernoulli run of the ci suite in a fresh folder: the folder, its args, its run. */
async function finishedRun(): Promise<{ out: string; args: string[]; run: string }> {
  const out = await Deno.makeTempDir();
  const args = benchArgs(out, "--suite", "ci", "--models", "bernoulli");
  assert.equal((await cli([...args, "--quiet"])).code, 0);
  const [run] = await Array.fromAsync(Deno.readDir(join(out, "runs")));
  return { out, args, run: join(out, "runs", run.name) };
}

/** Plant the two kinds of temp file a write cut short leaves in `dir`. */
async function plantTempFiles(dir: string): Promise<void> {
  await Deno.writeTextFile(join(dir, `.${crypto.randomUUID()}.tmp`), "half a checkpoint");
  await Deno.writeTextFile(join(dir, `run.json.${crypto.randomUUID()}.tmp`), "{ half");
}

posixTest(
  "SIGTERM is handled like Ctrl-C: checkpoint, status interrupted, exit 143; --resume finishes",
  async () => {
    const out = await Deno.makeTempDir();
    const args = benchArgs(out, "--suite", "ci", "--models", "vae-mlp", "--checkpoint-every", "2");
    const at = { out, model: "vae-mlp", file: "checkpoint.bin" };
    const { child, dir } = await startUntil([...args, "--quiet"], at);
    child.kill("SIGTERM");
    const output = await child.output();
    const stderr = decode(output.stderr);
    assert.equal(output.code, 143, stderr);
    assert.match(stderr, /SIGTERM: stopping at the next step and saving a checkpoint/);
    assert.match(stderr, /interrupted \[vae-mlp seed 1\] at step \d+\/40; checkpoint saved/);
    const record = await readJson(join(dir, "run.json"));
    assert.equal(record.status, "interrupted");
    assert.equal((await readJson(join(dir, "metrics.json"))).status, "interrupted");
    await Deno.stat(join(dir, "checkpoint.bin"));
    const resumed = await cli([...args, "--resume", "--quiet"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await readJson(join(dir, "run.json"))).status, "finished");
    await Deno.remove(out, { recursive: true });
  },
);

posixTest(
  "a second Ctrl-C exits at once and leaves no temp file of a write it cut short",
  async () => {
    const root = await Deno.makeTempDir();
    // Two steps, then a slow evaluation (IWAE-200 on 200 images): time for two signals.
    const suite = {
      name: "slow-eval",
      description: "a slow evaluation",
      evalCount: 200,
      iwaeK: 200,
      sampleCount: 4,
      entries: [{ model: "vae-mlp", steps: 2, options: { batchSize: 16 } }],
    };
    const file = join(root, "slow.json");
    await Deno.writeTextFile(file, JSON.stringify(suite));
    const out = join(root, "out");
    // weights.bin is written when training ends, just before evaluation starts. Writes in flight
    // at the moment of an exit leave temp files like these (planted: the moment is not
    // reproducible).
    const at = { out, model: "vae-mlp", file: "weights.bin" };
    const { child, dir } = await startUntil(benchArgs(out, "--suite", file, "--quiet"), at);
    await plantTempFiles(dir);
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    child.kill("SIGINT");
    let said = "";
    while (!said.includes("Ctrl-C: stopping")) said += (await reader.read()).value ?? "";
    child.kill("SIGINT");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      said += value;
    }
    assert.equal((await child.status).code, 130, said);
    assert.match(said, /second Ctrl-C: exiting now/);
    assert.deepEqual(await tempFiles(out), []);
    assert.equal((await readJson(join(dir, "run.json"))).status, "interrupted");
    await Deno.remove(root, { recursive: true });
  },
);

Deno.test("--resume removes the temp files a killed run left, and says so", async () => {
  const { out, args, run } = await finishedRun();
  await plantTempFiles(run);
  const resumed = await cli([...args, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /removed 2 unfinished temp file\(s\) in /);
  assert.deepEqual(await tempFiles(out), []);
  await Deno.remove(out, { recursive: true });
});

Deno.test("--resume leaves the temp files of runs it does not own (another shard's writes)", async () => {
  const { out, args, run } = await finishedRun();
  await plantTempFiles(run);
  // The same --out, another model: as another shard of an array job would resume it.
  const other = args.map((arg) => arg === "bernoulli" ? "made" : arg);
  const resumed = await cli([...other, "--resume", "--quiet"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await tempFiles(out)).length, 2);
  await Deno.remove(out, { recursive: true });
});

Deno.test("--resume validates every field of run.json before training: one line, exit 2", async () => {
  const { out, args, run } = await finishedRun();
  const path = join(run, "run.json");
  const good = await Deno.readTextFile(path);
  const tampered: [(r: Record<string, unknown>) => void, RegExp][] = [
    [(r) => r.seed = "one", /"seed" should be an integer from 0 to 4294967295 \(got "one"\)/],
    [
      (r) => r.status = "done",
      /"status" should be one of running, finished, diverged, interrupted/,
    ],
    [
      (r) => (r.config as Record<string, unknown>).iwae_k = -1,
      /"config\.iwae_k" should be an integer ≥ 0/,
    ],
    [
      (r) => delete (r.provenance as Record<string, unknown>).backend,
      /"provenance\.backend" should be a string/,
    ],
    [(r) => r.resumed = [{ at: 5 }], /"resumed\[0\]\.at" should be a string/],
  ];
  for (const [tamper, message] of tampered) {
    const record = JSON.parse(good);
    tamper(record);
    await Deno.writeTextFile(path, JSON.stringify(record));
    const result = await cli([...args, "--resume"]);
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 2, result.stderr); // the suite's banner, then the error
    assert.match(lines[1], new RegExp(`^genbench: \\S+run\\.json: malformed: ${message.source}`));
  }
  await Deno.remove(out, { recursive: true });
});

Deno.test("a run whose report cannot be written exits non-zero, naming the file", async () => {
  const out = await Deno.makeTempDir();
  // A damaged run folder left in --out by something else: the report reads every run there.
  await Deno.mkdir(join(out, "runs", "damaged"), { recursive: true });
  await Deno.writeTextFile(join(out, "runs", "damaged", "run.json"), "{ half");
  const result = await cli(benchArgs(out, "--suite", "ci", "--models", "bernoulli", "--quiet"));
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(
    lines[0],
    /^genbench: the runs finished but the report was not written: \S*damaged\/run\.json: malformed: not JSON.*deno task report --results /,
  );
  await Deno.remove(out, { recursive: true });
});
