/**
 * `slurm`: run a suite as a Slurm array job, one task per shard (see benchmarks/shard.ts), all
 * writing into one results folder on the shared filesystem. Each task runs
 * `bench … --shard $SLURM_ARRAY_TASK_ID/n --resume` through the bench task's launcher (which grants
 * it --out and --data-dir wherever they are), so a task that was preempted or timed out continues from its checkpoint when the array is submitted again, and finished runs
 * are skipped. Slurm sends SIGINT shortly before the time limit (`--signal`), which makes the
 * run stop at the next step and write its checkpoint, as Ctrl-C does.
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { oneLine, UsageError } from "../core/errors.ts";
import { ensureWritableDir, writeFileAtomic } from "../core/files.ts";
import { getSuite } from "../benchmarks/suites.ts";
import { parseBenchArgs } from "./bench.ts";
import { parseFlags, parseInteger } from "./args.ts";

export const SLURM_USAGE = `Usage: deno task slurm [options]

Writes an sbatch array script (one task per shard of the suite's (model, seed) runs, all
writing into --out on the shared filesystem) to <out>/slurm/genbench-<suite>.sbatch and submits it
with sbatch; prints the job id and the command that merges the results.

  --suite, --models, --dataset, --data-dir, --backend, --threads, --seed, --seeds,
  --checkpoint-every    as for bench (default suite quick)
  --shards N            array tasks (default: one per run; at most the number of runs)
  --gpus-per-task N     GPUs of each task (default 1; 0: none)
  --cpus-per-task N     CPUs of each task (default: the cluster's)
  --partition P         the partition (default: the cluster's)
  --time HH:MM:SS       the time limit of each task (also D-HH:MM:SS; default: the partition's)
  --signal-seconds N    SIGINT this long before the time limit, to checkpoint (default 300)
  --out DIR             the shared results folder (default results)
  --dry-run             print the script, write and submit nothing

A task that was preempted or timed out resumes from its checkpoint when you submit the script
again (sbatch <out>/slurm/genbench-<suite>.sbatch); finished runs are skipped.`;

/** The resolved options of `slurm`. */
export interface SlurmOptions {
  suite: string;
  /** The flags given to every `bench` task (without --shard, --resume and --out). */
  benchArgs: string[];
  /** Runs in the suite (entries × seeds). */
  runs: number;
  shards: number;
  gpusPerTask: number;
  cpusPerTask: number | null;
  partition: string | null;
  time: string | null;
  signalSeconds: number;
  /** Absolute path of the shared results folder. */
  out: string;
  dryRun: boolean;
}

/** The tasks' launcher, relative to the project folder. */
const LAUNCHER = "cli/launch.ts";

/** Where the script runs the bench task (the folder of deno.json). */
export const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const BENCH_STRINGS = [
  "suite",
  "models",
  "dataset",
  "data-dir",
  "backend",
  "threads",
  "seeds",
] as const;

function count(text: string, flag: string, min: number): number {
  return parseInteger(text, flag, { min });
}

/** Parse and validate the flags of `slurm`; the bench flags are checked as bench checks them. */
export function parseSlurmArgs(args: string[], cwd = Deno.cwd()): SlurmOptions | "help" {
  const v = parseFlags("slurm", {
    args,
    strict: true,
    allowPositionals: false,
    options: {
      suite: { type: "string", default: "quick" },
      models: { type: "string" },
      dataset: { type: "string" },
      "data-dir": { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      seed: { type: "string", multiple: true },
      seeds: { type: "string" },
      "checkpoint-every": { type: "string" },
      shards: { type: "string" },
      "gpus-per-task": { type: "string", default: "1" },
      "cpus-per-task": { type: "string" },
      partition: { type: "string" },
      time: { type: "string" },
      "signal-seconds": { type: "string", default: "300" },
      out: { type: "string", default: "results" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
  if (v.help) return "help";
  const benchArgs: string[] = [];
  for (const name of BENCH_STRINGS) {
    if (v[name] !== undefined) benchArgs.push(`--${name}`, v[name]!);
  }
  for (const seed of v.seed ?? []) benchArgs.push("--seed", seed);
  if (v["checkpoint-every"] !== undefined) {
    benchArgs.push("--checkpoint-every", v["checkpoint-every"]);
  }
  // The same checks as bench, so that a bad flag fails here and not in every array task.
  const bench = parseBenchArgs([...benchArgs, "--shard", "1/1", "--out", v.out!]);
  if (bench === "help") throw new UsageError("slurm: see slurm --help");
  const entries = getSuite(bench.suite).entries.filter((e) =>
    !bench.models || bench.models.includes(e.model)
  );
  const runs = entries.length * bench.seeds.length;
  const shards = v.shards === undefined ? runs : count(v.shards, "--shards", 1);
  if (shards > runs) {
    throw new UsageError(`--shards: ${shards} is more than the ${runs} run(s) of the suite`);
  }
  const time = v.time?.trim() ?? null;
  if (time !== null && !/^(\d+-)?\d{1,2}:\d{2}:\d{2}$/.test(time)) {
    throw new UsageError(`--time: "${v.time}" is not a time limit (expected HH:MM:SS)`);
  }
  const partition = v.partition?.trim() ?? null;
  if (partition !== null && !/^[\w.,-]+$/.test(partition)) {
    throw new UsageError(`--partition: "${v.partition}" is not a partition name`);
  }
  const out = resolve(cwd, v.out!);
  // #SBATCH lines are not shell words: the paths in them cannot be quoted.
  if (/[\s'"#$`\\%]/.test(out)) {
    throw new UsageError(`--out: "${out}" has a space or a quote, which #SBATCH lines cannot hold`);
  }
  return {
    suite: bench.suite,
    benchArgs,
    runs,
    shards,
    gpusPerTask: count(v["gpus-per-task"]!, "--gpus-per-task", 0),
    cpusPerTask: v["cpus-per-task"] === undefined
      ? null
      : count(v["cpus-per-task"], "--cpus-per-task", 1),
    partition,
    time,
    signalSeconds: count(v["signal-seconds"]!, "--signal-seconds", 1),
    out,
    dryRun: v["dry-run"]!,
  };
}

/** Quote for bash: one word, whatever it holds. */
export function shellQuote(word: string): string {
  return /^[\w./:,@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The flags of a task of deno.json (`deno run FLAGS cli/launch.ts NAME`): the launcher's, which
 * grant each run what its command line names (cli/launch.ts), so --out and --data-dir may be
 * anywhere on the shared filesystem.
 */
export async function taskFlags(name: string, root = PROJECT_ROOT): Promise<string[]> {
  const path = join(root, "deno.json");
  let task: unknown;
  try {
    task = JSON.parse(await Deno.readTextFile(path))?.tasks?.[name];
  } catch (error) {
    throw new UsageError(`${path}: cannot read the ${name} task (${oneLine(error)})`);
  }
  const words = typeof task === "string" ? task.trim().split(/\s+/) : [];
  const flags = words.slice(2, -2);
  if (
    words.length < 4 || words[0] !== "deno" || words[1] !== "run" ||
    words.at(-2) !== LAUNCHER || words.at(-1) !== name || !flags.every((w) => /^-/.test(w))
  ) {
    throw new UsageError(`${path}: the ${name} task is not "deno run FLAGS ${LAUNCHER} ${name}"`);
  }
  return flags;
}

/**
 * The sbatch array script. `flags` are the launcher flags of the bench task
 * ({@link taskFlags}); `deno` is the executable the tasks run (sbatch exports the PATH of
 * the shell that submits, so plain `deno` is the one used there).
 */
export function sbatchScript(
  options: SlurmOptions,
  flags: string[],
  deno = "deno",
  root = PROJECT_ROOT,
): string {
  const o = options;
  const logs = join(o.out, "slurm");
  const directives = [
    `--job-name=genbench-${o.suite}`,
    `--array=1-${o.shards}`,
    "--ntasks=1",
    ...(o.cpusPerTask === null ? [] : [`--cpus-per-task=${o.cpusPerTask}`]),
    ...(o.gpusPerTask > 0 ? [`--gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.partition === null ? [] : [`--partition=${o.partition}`]),
    ...(o.time === null ? [] : [`--time=${o.time}`]),
    `--output=${join(logs, "%x-%A_%a.out")}`,
    "--open-mode=append",
    // Requeued after a preemption or node failure; the task resumes from its checkpoint.
    "--requeue",
    // SIGINT to the batch shell (exec'd into bench) before the time limit: the run stops at
    // the next step and writes its checkpoint.
    `--signal=B:INT@${o.signalSeconds}`,
  ];
  const command = [
    deno,
    "run",
    ...flags,
    LAUNCHER,
    "bench",
    ...o.benchArgs,
    "--shard",
    `\${SLURM_ARRAY_TASK_ID}/${o.shards}`,
    "--resume",
    "--out",
    o.out,
  ].map((word) => word.startsWith("${SLURM") ? `"${word}"` : shellQuote(word));
  return [
    "#!/bin/bash",
    ...directives.map((d) => `#SBATCH ${d}`),
    "",
    `# genbench: suite ${o.suite}, ${o.runs} run(s) in ${o.shards} shard(s). Submit this script`,
    "# again to resume the runs that were interrupted; finished runs are skipped.",
    "set -euo pipefail",
    `cd ${shellQuote(root)}`,
    `exec ${command.join(" ")}`,
    "",
  ].join("\n");
}

/** Submit `script` with `sbatch --parsable`; returns the job id. */
export async function submit(script: string, sbatch = "sbatch"): Promise<string> {
  let output;
  try {
    output = await new Deno.Command(sbatch, {
      args: ["--parsable", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${sbatch}: not found on PATH (run this on a Slurm login node, or use --dry-run)`,
      );
    }
    throw error;
  }
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!output.success) {
    throw new UsageError(
      `sbatch failed (exit ${output.code}): ${oneLine(decode(output.stderr)) || "no message"}`,
    );
  }
  // --parsable prints "jobid" or "jobid;cluster".
  const id = decode(output.stdout).split(/\s+/).pop()!.split(";")[0];
  if (!/^\d+$/.test(id)) {
    throw new UsageError(`sbatch printed no job id (got "${oneLine(decode(output.stdout))}")`);
  }
  return id;
}

/** The command that merges the shards into one report: the report task, reading `out`. */
export function reportCommandLine(out: string, root = PROJECT_ROOT): string {
  const inside = relative(root, out);
  if (inside !== "" && !inside.startsWith("..") && !isAbsolute(inside)) {
    return `deno task report --results ${shellQuote(inside)}`;
  }
  return `(cd ${shellQuote(root)} && deno task report --results ${shellQuote(out)})`;
}

/** The `slurm` command. Returns the exit status; bad input throws a UsageError. */
export async function slurmCommand(args: string[]): Promise<number> {
  const options = parseSlurmArgs(args);
  if (options === "help") {
    console.log(SLURM_USAGE);
    return 0;
  }
  const script = sbatchScript(options, await taskFlags("bench"));
  if (options.dryRun) {
    console.log(script);
    return 0;
  }
  const dir = join(options.out, "slurm");
  await ensureWritableDir(join(options.out, "runs"), "--out");
  await ensureWritableDir(dir, "--out");
  const path = join(dir, `genbench-${options.suite}.sbatch`);
  await writeFileAtomic(path, script);
  const id = await submit(path);
  console.log(`genbench: submitted ${path} as job ${id} (${options.shards} array task(s))`);
  console.log(`genbench: logs in ${join(dir, `genbench-${options.suite}-${id}_*.out`)}`);
  console.log(`genbench: to resume after a time-out or failure: sbatch ${shellQuote(path)}`);
  console.log(`genbench: when the array is done: ${reportCommandLine(options.out)}`);
  return 0;
}
