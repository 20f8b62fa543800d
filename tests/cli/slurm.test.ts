/**
 * `deno task slurm`: flag errors, the sbatch script of --dry-run (valid bash, the array, the
 * resume flag, the bench command), and submission through a fake `sbatch` on PATH that runs
 * the array's tasks one after the other, as Slurm would, then a resubmission that skips the
 * finished runs. A real single-node Slurm is used only where `sbatch` and `sinfo` work.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseSlurmArgs, sbatchScript, shellQuote } from "../../cli/slurm.ts";
import { oneLine } from "../../core/errors.ts";
import { CI, missingLine } from "../_tools.ts";
import { CI_CPU, cli, decode } from "../_run.ts";
import { MODELS } from "../../models/registry.ts";

/** The ci suite runs every registered model once. */
const CI_RUNS = MODELS.length;

async function bashSyntaxOk(script: string): Promise<boolean> {
  const path = await Deno.makeTempFile({ suffix: ".sh" });
  await Deno.writeTextFile(path, script);
  const { success } = await new Deno.Command("bash", { args: ["-n", path] }).output();
  await Deno.remove(path);
  return success;
}

Deno.test("slurm: bad flags end in one line and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--shards", "0"], /--shards: "0" is not an integer \(expected an integer ≥ 1\)/],
    [
      ["--suite", "ci", "--shards", "99"],
      new RegExp(`--shards: 99 is more than the ${CI_RUNS} run\\(s\\)`),
    ],
    [["--time", "forever"], /--time: "forever" is not a time limit/],
    [["--gpus-per-task", "-1"], /--gpus-per-task|slurm:/],
    [["--partition", "a b"], /--partition: "a b" is not a partition name/],
    [["--suite", "huge"], /--suite: unknown suite "huge"/],
    [["--seeds", "x"], /--seeds: "x" is not a seed/],
    [["--out", "/tmp/has space"], /--out: .* #SBATCH lines cannot hold/],
    [["--bogus"], /slurm: .*bogus/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await cli(["slurm", ...args, "--dry-run"]);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, message);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  }
});

Deno.test("slurm --dry-run: a valid sbatch array script that resumes; nothing written", async () => {
  const base = await Deno.makeTempDir();
  const out = join(base, "results");
  const { code, stdout, stderr } = await cli([
    "slurm",
    "--suite",
    "ci",
    "--seeds",
    "1,2",
    "--shards",
    "3",
    "--partition",
    "gpu",
    "--time",
    "02:00:00",
    "--out",
    out,
    "--dry-run",
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(await bashSyntaxOk(stdout));
  const lines = stdout.split("\n");
  assert.equal(lines[0], "#!/bin/bash");
  const directives = lines.filter((l) => l.startsWith("#SBATCH "));
  for (const d of directives) assert.match(d, /^#SBATCH --[a-z-]+(=\S+)?$/);
  for (
    const d of [
      "--array=1-3",
      "--gpus-per-task=1",
      "--partition=gpu",
      "--time=02:00:00",
      "--requeue",
      "--signal=B:INT@300",
    ]
  ) assert.ok(directives.includes(`#SBATCH ${d}`), d);
  // Directives must come before the first command, or sbatch ignores them.
  const firstCommand = lines.findIndex((l) => l !== "" && !l.startsWith("#"));
  assert.ok(lines.findLastIndex((l) => l.startsWith("#SBATCH")) < firstCommand);
  const exec = lines.find((l) => l.startsWith("exec "))!;
  assert.ok(exec.startsWith("exec deno run "), exec);
  assert.ok(exec.includes(" --allow-run=deno cli/launch.ts bench --suite ci --seeds 1,2 "), exec);
  assert.ok(exec.includes(' --shard "${SLURM_ARRAY_TASK_ID}/3" --resume '), exec);
  assert.ok(exec.endsWith(` --out ${out}`), exec);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  await Deno.remove(base, { recursive: true });

  // Without --shards: one task per run; --gpus-per-task 0 asks for no GPU.
  const options = parseSlurmArgs(["--suite", "ci", "--gpus-per-task", "0"], "/shared");
  assert.ok(options !== "help");
  assert.equal(options.shards, CI_RUNS); // the ci suite: every registered model, one seed
  assert.equal(options.out, "/shared/results");
  const script = sbatchScript(options, ["--no-prompt"], "/opt/deno", "/src/genbench");
  assert.ok(script.includes(`#SBATCH --array=1-${CI_RUNS}\n`));
  assert.ok(!script.includes("gpus"));
  assert.ok(
    script.includes("cd /src/genbench\nexec /opt/deno run --no-prompt cli/launch.ts bench"),
  );
  assert.ok(script.includes(" cli/launch.ts bench --suite ci --shard"));
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

/** A fake sbatch: records its arguments, runs each array task in turn, prints a job id. */
const FAKE_SBATCH = `#!/bin/bash
set -eu
echo "$@" >> "$FAKE_SBATCH_LOG"
script="\${@: -1}"
last=$(sed -n 's/^#SBATCH --array=1-\\([0-9]*\\)$/\\1/p' "$script")
for i in $(seq 1 "$last"); do
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=$last \\
    bash "$script" >> "$FAKE_SBATCH_LOG.task$i" 2>&1 || {
    echo "task $i failed: $(tail -n 5 "$FAKE_SBATCH_LOG.task$i" | tr '\\n' ' ')" >&2
    exit 1
  }
done
echo "4242;local"
`;

Deno.test("slurm: submits with sbatch --parsable, the tasks fill one folder, resubmission skips", async () => {
  const base = await Deno.makeTempDir({ prefix: "genbench-slurm-" });
  const bin = join(base, "bin");
  await Deno.mkdir(bin);
  await Deno.writeTextFile(join(bin, "sbatch"), FAKE_SBATCH, { mode: 0o755 });
  const log = join(base, "sbatch.log");
  const out = join(base, "results");
  const env = { PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`, FAKE_SBATCH_LOG: log };
  const args = [
    "slurm",
    "--suite",
    "ci",
    "--models",
    "bernoulli",
    "--seeds",
    "1,2",
    "--backend",
    "cpu",
    "--dataset",
    "synthetic",
    "--gpus-per-task",
    "0",
    "--out",
    out,
  ];
  const first = await cli(args, env);
  assert.equal(first.code, 0, first.stderr);
  const script = join(out, "slurm", "genbench-ci.sbatch");
  assert.match(first.stdout, /submitted .*genbench-ci\.sbatch as job 4242 \(2 array task\(s\)\)/);
  const merge = /when the array is done: (.*)/.exec(first.stdout)![1];
  assert.match(merge, /^\(cd \S+ && deno task report --results \S+\)$/);
  assert.equal((await Deno.readTextFile(log)).trim(), `--parsable ${script}`);
  const dry = await cli([...args, "--dry-run"], env);
  assert.equal(await Deno.readTextFile(script), dry.stdout.replace(/\n$/, ""));

  // Each task ran its shard of the suite into the one folder.
  const runs = () => Array.from(Deno.readDirSync(join(out, "runs")), (e) => e.name).sort();
  const before = runs();
  assert.equal(before.length, 2);
  for (const name of before) {
    const metrics = JSON.parse(Deno.readTextFileSync(join(out, "runs", name, "metrics.json")));
    assert.equal(metrics.status, "finished");
  }
  assert.match(await Deno.readTextFile(`${log}.task1`), /shard 1\/2: 1 of 2 run/);
  assert.match(await Deno.readTextFile(`${log}.task2`), /shard 2\/2: 1 of 2 run/);

  // Submitting again (after a time-out, say) skips what is finished and starts nothing new.
  const again = await cli(args, env);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(runs(), before);
  assert.match(await Deno.readTextFile(`${log}.task2`), /bernoulli seed 2: already finished/);

  // The merged report covers both shards; the printed command builds it.
  const report = await new Deno.Command("bash", { args: ["-c", merge], stderr: "piped" }).output();
  assert.ok(report.success, decode(report.stderr));
  const csv = await Deno.readTextFile(join(out, "report", "tables.csv"));
  const nll = csv.split("\n").find((l) => l.includes(",bernoulli,") && l.includes(",nll_nats,"));
  assert.ok(nll, csv);
  // n = 2 runs, seeds 1 and 2: one from each shard.
  assert.match(
    nll,
    /,nats,lower,2,.*,1 2,bernoulli-synthetic-seed1-\S+ bernoulli-synthetic-seed2-/,
  );
  await Deno.remove(base, { recursive: true });
});

Deno.test("slurm: sbatch missing from PATH is one line, exit 2", async () => {
  const base = await Deno.makeTempDir();
  const { code, stderr } = await cli(["slurm", "--suite", "ci", "--out", join(base, "r")], {
    PATH: join(base, "empty"),
  });
  assert.equal(code, 2);
  assert.match(stderr, /sbatch: not found on PATH/);
  assert.equal(stderr.trim().split("\n").length, 1);
  await Deno.remove(base, { recursive: true });
});

/** Why a real Slurm cannot be used here, or null when `sinfo` sees an idle node. */
async function noSlurm(): Promise<string | null> {
  try {
    const info = await new Deno.Command("sinfo", { args: ["-h", "-o", "%t"], stderr: "null" })
      .output();
    if (!info.success) return "sinfo failed (no controller running)";
    if (!/idle|mix/.test(decode(info.stdout))) return "no idle Slurm node";
    return null;
  } catch {
    return "sinfo/sbatch not installed";
  }
}

const SLURM_LOCAL = fileURLToPath(new URL("./_slurm_local.sh", import.meta.url));

/**
 * Use a running Slurm, or start a single-node one where slurm-wlm and munge are installed and we
 * are root (CI). Returns why there is none, or null; `started` says whether we must stop it.
 */
async function ensureSlurm(): Promise<{ missing: string | null; started: boolean }> {
  const first = await noSlurm();
  if (first === null) return { missing: null, started: false };
  const installed = await Deno.stat("/usr/sbin/slurmctld").then(() => true, () => false);
  if (!installed) return { missing: `${first}; slurm-wlm is not installed`, started: false };
  if (Deno.uid() !== 0) return { missing: `${first}; starting one needs root`, started: false };
  const start = await new Deno.Command("bash", { args: [SLURM_LOCAL, "start"], stdout: "null" })
    .output();
  if (!start.success) {
    return { missing: `slurm could not start: ${oneLine(decode(start.stderr))}`, started: false };
  }
  return { missing: await noSlurm(), started: true };
}

const SLURM = await ensureSlurm();
const SLURM_MISSING = SLURM.missing;
if (SLURM_MISSING) console.error(missingLine("slurm", `unusable (${SLURM_MISSING})`));

Deno.test({
  name: "slurm: a real 3-task array of the ci suite, merged into one report",
  // Ignored (never passed) without a usable Slurm, except in CI, where it must run.
  ignore: SLURM_MISSING !== null && !CI,
  async fn() {
    try {
      await realArray();
    } finally {
      if (SLURM.started) await new Deno.Command("bash", { args: [SLURM_LOCAL, "stop"] }).output();
    }
  },
});

async function realArray(): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "genbench-slurm-real-" });
  const out = join(base, "results");
  const submitted = await cli([
    "slurm",
    ...CI_CPU,
    "--models",
    "bernoulli,vae-mlp,gan-mlp,made",
    "--shards",
    "3",
    "--gpus-per-task",
    "0",
    "--out",
    out,
  ]);
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = /as job (\d+)/.exec(submitted.stdout)![1];
  // Wait until the array has left the queue (at most 10 minutes).
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const q = await new Deno.Command("squeue", { args: ["-h", "-j", id] }).output();
    // Empty (or "invalid job id" once Slurm has forgotten it): the array has left the queue.
    if (decode(q.stdout).trim() === "") break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  // The model runs (the suite's real-data reference rows are folders of their own).
  const runs = Array.from(Deno.readDirSync(join(out, "runs")))
    .filter((run) => !run.name.startsWith("real-data-"));
  assert.equal(runs.length, 4);
  for (const run of runs) {
    const m = JSON.parse(Deno.readTextFileSync(join(out, "runs", run.name, "metrics.json")));
    assert.equal(m.status, "finished", run.name);
  }
  const report = await cli(["report", "--results", out]);
  assert.equal(report.code, 0, report.stderr);
  const md = await Deno.readTextFile(join(out, "report", "tables.md"));
  for (const model of ["bernoulli", "vae-mlp", "gan-mlp", "made"]) assert.ok(md.includes(model));
  const logs = Array.from(Deno.readDirSync(join(out, "slurm")), (e) => e.name);
  assert.equal(logs.filter((name) => name.startsWith(`genbench-ci-${id}_`)).length, 3, `${logs}`);
  await Deno.remove(base, { recursive: true });
}
