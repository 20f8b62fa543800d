/**
 * genbench under the permissions its deno tasks grant (the tasks' command lines from deno.json,
 * so this test cannot drift from them): every user-facing task runs the launcher with only the
 * right to start Deno, and the launcher grants the run the project folder and the paths named
 * by its flags, never the network. The ci suite runs; a file over its size limit, a non-numeric
 * baseline and a checkpoint of the wrong shapes each end in one clear line and exit 2. Paths
 * outside the project: tests/cli/launch.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_BYTES, readFileLimited } from "../../core/files.ts";
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint } from "../../core/checkpoint.ts";
import { UsageError } from "../../core/errors.ts";
import { permissionHint } from "../../cli/main.ts";
import { grantFlags, grantFor } from "../../cli/launch.ts";
import {
  CI_CPU,
  deno,
  ROOT,
  task,
  TASKS,
  taskWords,
  waitFor,
  withResultsDir as withDir,
} from "../_run.ts";

/** The Deno flags of `deno task NAME` (what stands between `deno run` and the script). */
function taskFlags(name: string): string[] {
  const words = taskWords(name);
  const script = words.findIndex((w, i) => i >= 2 && !w.startsWith("-"));
  return words.slice(2, script);
}

const genbench = task;
const withResultsDir = (fn: (dir: string) => Promise<void>) => withDir(fn, ".permissions-test-");

Deno.test("no task is granted everything or the network", () => {
  for (const [name, command] of Object.entries(TASKS)) {
    if (!command.startsWith("deno run")) continue;
    const flags = taskFlags(name);
    assert.ok(!flags.some((f) => f === "-A" || f.startsWith("--allow-all")), `${name}: -A`);
    assert.ok(!flags.some((f) => f.startsWith("--allow-net") || f === "-N"), `${name}: net`);
    assert.ok(flags.includes("--no-prompt"), `${name}: a denial must fail, not prompt`);
    for (const flag of flags.filter((f) => /^--allow-(read|write|env|run|ffi|sys)$/.test(f))) {
      assert.fail(`${name}: ${flag} is unscoped`);
    }
  }
  // The user-facing tasks: the launcher, allowed only to start Deno.
  for (const name of ["bench", "report", "check", "score", "slurm", "bench:micro"]) {
    assert.equal(
      TASKS[name],
      `deno run --no-prompt --deny-net --allow-run=deno cli/launch.ts ${name}`,
    );
  }
});

Deno.test("the launcher grants the project, the named paths and fixed needs; no net, no -A", () => {
  const cases: [string, string[], RegExp[]][] = [
    ["bench", ["--data-dir", "/d", "--out", "/o"], [
      /^--allow-read=[^,]+,\/o,\/d,/,
      /^--allow-write=\/o$/,
    ]],
    ["bench", [], [/^--allow-write=results$/]],
    ["report", ["--results", "/r"], [/^--allow-read=[^,]+,\/r,/, /^--allow-write=\/r\/report$/]],
    ["check", ["--baseline", "/b/x.json", "--results", "/r"], [
      /^--allow-read=[^,]+,\/r,\/b\/x\.json$/,
    ]],
    ["check", ["--baseline", "/b/x.json", "--update-baseline"], [/^--allow-write=\/b$/]],
    ["score", ["/a.idx", "/b dir", "--json"], [/^--allow-read=[^,]+,\/a\.idx,\/b dir$/]],
    ["bench:micro", ["--out", "/m.json"], [/^--allow-write=\/m\.json$/]],
    ["slurm", ["--out", "/s"], [/^--allow-write=\/s$/, /^--allow-run=sbatch$/]],
  ];
  for (const [command, args, expected] of cases) {
    const flags = grantFlags(grantFor(command, args));
    assert.deepEqual(flags.slice(0, 2), ["--no-prompt", "--deny-net"]);
    assert.ok(!flags.some((f) => f === "-A" || /^--allow-(all|net)/.test(f)), flags.join(" "));
    assert.ok(flags.every((f) => !/^--allow-\w+$/.test(f)), `unscoped: ${flags.join(" ")}`);
    for (const pattern of expected) {
      assert.ok(flags.some((f) => pattern.test(f)), `${command}: ${pattern} in ${flags.join(" ")}`);
    }
  }
  // Nothing is written where the command names no output.
  assert.ok(
    !grantFlags(grantFor("check", ["--baseline", "b.json"])).some((f) =>
      f.startsWith("--allow-write")
    ),
  );
  assert.ok(!grantFlags(grantFor("score", ["a", "b"])).some((f) => f.startsWith("--allow-write")));
});

Deno.test("the ci suite runs under the bench task's permissions with the network denied", async () => {
  await withResultsDir(async (out) => {
    const { code, stderr } = await genbench("bench", [
      ...CI_CPU,
      "--models",
      "bernoulli,vae-mlp",
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(code, 0, stderr);
    const runs = [...Deno.readDirSync(join(ROOT, out, "runs"))].map((e) => e.name).sort();
    assert.equal(runs.length, 2, runs.join(", "));
    for (const run of runs) {
      const metrics = JSON.parse(
        await Deno.readTextFile(join(ROOT, out, "runs", run, "metrics.json")),
      );
      assert.ok(Object.keys(metrics.metrics ?? metrics).length > 0, run);
    }
    // The report at the end of bench, with its PNG figures (the one use of FFI).
    await Deno.stat(join(ROOT, out, "report", "index.html"));
    const check = await genbench("check", [
      "--baseline",
      "benchmarks/baselines/ci-synthetic.json",
      "--results",
      out,
    ]);
    assert.ok(check.code === 0 || check.code === 1, check.stderr);
    assert.match(check.stdout, /check: \d+ ok/);
  });
});

Deno.test("a 2 GB sparse baseline is refused in one line without being read", async () => {
  await withResultsDir(async (dir) => {
    await Deno.mkdir(join(ROOT, dir));
    const file = join(dir, "huge.json");
    using handle = await Deno.open(join(ROOT, file), { write: true, create: true });
    await handle.truncate(2 * 2 ** 30);
    const { code, stderr } = await genbench("check", ["--baseline", file]);
    assert.equal(code, 2);
    // SIGKILL may have cut a write short: --resume then also says it removed the temp file.
    const lines = stderr.trim().split("\n")
      .filter((line) => !/^genbench: removed \d+ unfinished temp file/.test(line));
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /2048 MiB is over the 16 MiB limit/);
  });
});

Deno.test("a baseline with a non-numeric value is refused in one line, exit 2", async () => {
  await withResultsDir(async (dir) => {
    await Deno.mkdir(join(ROOT, dir));
    const file = join(dir, "bad.json");
    const run = { model: "bernoulli", seed: 1, metrics: { nll_nats: {} } };
    run.metrics.nll_nats = { expected: "80; alert(1)", tolerance: 1, better: "lower" };
    await Deno.writeTextFile(
      join(ROOT, file),
      JSON.stringify({ suite: "ci", dataset: "synthetic", backend: "cpu", runs: [run] }),
    );
    await Deno.mkdir(join(ROOT, dir, "runs"));
    const { code, stderr } = await genbench("check", [
      "--baseline",
      file,
      "--results",
      dir,
    ]);
    assert.equal(code, 2);
    // SIGKILL may have cut a write short: --resume then also says it removed the temp file.
    const lines = stderr.trim().split("\n")
      .filter((line) => !/^genbench: removed \d+ unfinished temp file/.test(line));
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0],
      /malformed baseline: "runs\[0\]\.metrics\.nll_nats\.expected" should be a number/,
    );
  });
});

Deno.test({
  name: "a checkpoint with wrong shapes is refused on --resume in one line, exit 2",
  ignore: Deno.build.os === "windows", // SIGKILL
}, async () => {
  await withResultsDir(async (out) => {
    // mod.ts under the launcher's grant, so that SIGKILL reaches the run itself.
    const benchArgs = (...extra: string[]) => [
      ...CI_CPU,
      "--models",
      "vae-mlp",
      "--out",
      out,
      "--quiet",
      ...extra,
    ];
    const args = (...extra: string[]) => [
      "run",
      ...grantFlags(grantFor("bench", benchArgs(...extra))),
      "mod.ts",
      "bench",
      ...benchArgs(...extra),
    ];
    // Kill the run as soon as it has a checkpoint, leaving it unfinished.
    const child = new Deno.Command(Deno.execPath(), {
      args: args("--checkpoint-every", "2"),
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    let path: string;
    try {
      path = join(await waitFor(join(ROOT, out), "vae-mlp", "checkpoint.bin"), "checkpoint.bin");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
    // A well-formed checkpoint (valid checksum) whose first 2-D weight is stored flat.
    const checkpoint = decodeCheckpoint(await Deno.readFile(path), path);
    const blobs = [...checkpoint.blobs.values()];
    const weight = blobs.find((b) => b.name.startsWith("model/") && b.shape.length === 2)!;
    const flat = weight.shape[0] * weight.shape[1];
    weight.shape = [flat];
    await Deno.writeFile(path, encodeCheckpoint(checkpoint.meta, blobs));
    const { code, stderr } = await deno(args("--resume"), { cwd: ROOT });
    assert.equal(code, 2, stderr);
    // SIGKILL may have cut a write short: --resume then also says it removed the temp file.
    const lines = stderr.trim().split("\n")
      .filter((line) => !/^genbench: removed \d+ unfinished temp file/.test(line));
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0],
      new RegExp(`has shape \\[${flat}\\] in the checkpoint, the model expects`),
    );
  });
});

Deno.test("readFileLimited reads up to the limit and refuses one byte more", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "f.bin");
    const bytes = new Uint8Array(3000).map((_, i) => i % 251);
    await Deno.writeFile(path, bytes);
    assert.deepEqual(await readFileLimited(path, 3000, "test file"), bytes);
    await assert.rejects(
      () => readFileLimited(path, 2999, "test file"),
      (e) => e instanceof UsageError && /3000 bytes is over the 2999 bytes limit/.test(e.message),
    );
    // A checkpoint over its limit (sparse, so nothing is written to disk) is refused the same way.
    const big = join(dir, "checkpoint.bin");
    using handle = await Deno.open(big, { write: true, create: true });
    await handle.truncate(MAX_BYTES.checkpoint + 1);
    await assert.rejects(
      () => readCheckpoint(big),
      (e) => e instanceof UsageError && /^checkpoint .* over the 512 MiB limit/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissionHint says to name the path with a flag", () => {
  assert.equal(
    permissionHint(
      'x: cannot read (Requires read access to "/data", run again with the --allow-read flag)',
    ),
    'x: cannot read (not permitted: read access to "/data"; a deno task may use only the ' +
      "project folder and the paths its flags name (--data-dir, --out, --results, --baseline, " +
      "the image sets of score), so name it with one of them (see README, Permissions))",
  );
  assert.equal(permissionHint("something else"), "something else");
});
