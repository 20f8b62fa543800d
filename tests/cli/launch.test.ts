/**
 * Least privilege that follows the paths the user names (cli/launch.ts), each command run as its
 * deno task's own command line from deno.json: data and results outside the project, with
 * spaces and Unicode in their names, given as absolute or relative paths, work; a path the user
 * did not name is still refused.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { encodeIdx } from "../../datasets/idx.ts";
import { MNIST_FILES } from "../../datasets/mnist.ts";
import { Stream } from "../../core/rng.ts";
import { grantFlags, grantFor } from "../../cli/launch.ts";
import { CI_CPU, deno, ROOT, task, taskWords } from "../_run.ts";

/** A folder outside the project whose name has a space and non-ASCII letters. */
async function outside(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "genbench launch " });
  assert.ok(relative(ROOT, base).startsWith(".."), `${base} is inside ${ROOT}`);
  const dir = join(base, "données ü");
  await Deno.mkdir(dir);
  return dir;
}

/** A small MNIST-shaped dataset (random images, the four IDX files) in `dir`. */
async function tinyMnist(dir: string): Promise<void> {
  const s = Stream.derive(7, "launch-test");
  const write = async (name: string, dims: number[], max: number) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = Uint8Array.from({ length: count }, () => Math.floor(s.uniform() * max));
    await Deno.writeFile(join(dir, name), encodeIdx(dims, data));
  };
  await write(MNIST_FILES.trainImages, [600, 28, 28], 256);
  await write(MNIST_FILES.trainLabels, [600], 10);
  await write(MNIST_FILES.testImages, [200, 28, 28], 256);
  await write(MNIST_FILES.testLabels, [200], 10);
}

Deno.test("bench, report and check with --data-dir, --out, --results and --baseline outside the project", async () => {
  const dir = await outside();
  try {
    const data = join(dir, "mnist data");
    await Deno.mkdir(data);
    await tinyMnist(data);
    // --out as a path relative to the project (where deno task runs), leading out of it.
    const out = relative(ROOT, join(dir, "résultats run"));
    const bench = await task("bench", [
      "--suite",
      "ci",
      "--models",
      "bernoulli",
      "--backend",
      "cpu",
      "--data-dir",
      data,
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(bench.code, 0, bench.stderr);
    const absOut = join(ROOT, out);
    const runs = [...Deno.readDirSync(join(absOut, "runs"))];
    assert.equal(runs.length, 1);
    const record = JSON.parse(
      await Deno.readTextFile(join(absOut, "runs", runs[0].name, "run.json")),
    );
    // The run read the 600 training images of --data-dir (100 of them are the validation split).
    assert.equal(record.provenance.dataset.name, "mnist");
    assert.equal(record.provenance.dataset.train + record.provenance.dataset.valid, 600);
    await Deno.stat(join(absOut, "summary.md"));

    const report = await task("report", ["--results", absOut, "--out", join(dir, "the report")]);
    assert.equal(report.code, 0, report.stderr);
    await Deno.stat(join(dir, "the report", "index.html"));

    const baseline = join(dir, "baselines", "ci mnist.json");
    await Deno.mkdir(dirname(baseline));
    const update = await task("check", [
      "--baseline",
      baseline,
      "--results",
      absOut,
      "--update-baseline",
    ]);
    assert.equal(update.code, 0, update.stderr);
    const check = await task("check", ["--baseline", baseline, "--results", absOut]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /ok/);
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("score of two IDX files outside the project", async () => {
  const dir = await outside();
  try {
    const s = Stream.derive(3, "launch-score");
    const set = (n: number) =>
      Uint8Array.from({ length: n * 16 }, () => Math.floor(s.uniform() * 256));
    await Deno.writeFile(join(dir, "a ü.idx"), encodeIdx([40, 4, 4], set(40)));
    await Deno.writeFile(join(dir, "b.idx"), encodeIdx([30, 4, 4], set(30)));
    const score = await task("score", [
      join(dir, "a ü.idx"),
      join(dir, "b.idx"),
      "--features",
      "pixels",
      "--json",
    ]);
    assert.equal(score.code, 0, score.stderr);
    const result = JSON.parse(score.stdout);
    assert.ok(Number.isFinite(result.metrics.fid.value), score.stdout);
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("under bench's grant, a path the user did not name is refused", async () => {
  const dir = await outside();
  try {
    const data = join(dir, "data");
    const out = join(dir, "out");
    await Deno.mkdir(data);
    await Deno.writeTextFile(join(data, "x.idx"), "named");
    await Deno.writeTextFile(join(dir, "secret"), "not named");
    // The probe plays a run that tries more than it was given.
    const probe = join(dir, "probe.ts");
    await Deno.writeTextFile(
      probe,
      `const tries = {
  readNamed: () => Deno.readTextFile(${JSON.stringify(join(data, "x.idx"))}),
  writeOut: () => Deno.mkdir(${JSON.stringify(out)}, { recursive: true }),
  readUnnamed: () => Deno.readTextFile(${JSON.stringify(join(dir, "secret"))}),
  writeBeside: () => Deno.writeTextFile(${JSON.stringify(join(dir, "beside"))}, "x"),
  readHome: () => Array.fromAsync(Deno.readDir(${JSON.stringify(Deno.env.get("HOME") ?? "/root")})),
  net: () => fetch("http://127.0.0.1:8000/"),
};
const result = {};
for (const [name, run] of Object.entries(tries)) {
  try { await run(); result[name] = "allowed"; }
  catch (e) { result[name] = e instanceof Deno.errors.NotCapable ? "refused" : "allowed"; }
}
console.log(JSON.stringify(result));
`,
    );
    const flags = grantFlags(grantFor("bench", ["--data-dir", data, "--out", out]));
    const output = await deno(["run", ...flags, probe], { cwd: ROOT });
    assert.equal(output.code, 0, output.stderr);
    assert.deepEqual(JSON.parse(output.stdout), {
      readNamed: "allowed",
      writeOut: "allowed",
      readUnnamed: "refused",
      writeBeside: "refused",
      readHome: "refused",
      net: "refused",
    });
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("a path that Deno's permission flags cannot hold is one line, exit 2", async () => {
  const { code, stderr } = await task("bench", ["--out", "/tmp/a,b"]);
  assert.equal(code, 2);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr, /"\/tmp\/a,b" has a comma/);
});

Deno.test({
  name: "Ctrl-C (SIGINT) to the launcher reaches the run once: it checkpoints and exits 130",
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await outside();
  try {
    const out = join(dir, "out");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...taskWords("bench").slice(1),
        ...[...CI_CPU, "--models", "vae-mlp", "--out", out, "--checkpoint-every", "0"],
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait for the run's first progress line, then interrupt the launcher only.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!/step \d+/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    while (!(await reader.read()).done) { /* drain */ }
    const status = await child.status;
    await child.stdout.cancel();
    assert.equal(status.code, 130, seen);
    const [run] = [...Deno.readDirSync(join(out, "runs"))];
    const record = JSON.parse(await Deno.readTextFile(join(out, "runs", run.name, "run.json")));
    assert.equal(record.status, "interrupted");
    await Deno.stat(join(out, "runs", run.name, "checkpoint.bin"));
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("bench:micro may read its --reference file and write its --out file, nothing else", () => {
  const grant = grantFor("bench:micro", [
    "--reference",
    "/tmp/torch.jsonl",
    "--out",
    "/tmp/m.json",
  ]);
  assert.ok(grant.read.includes("/tmp/torch.jsonl"));
  assert.deepEqual(grant.write, ["/tmp/m.json"]);
});
