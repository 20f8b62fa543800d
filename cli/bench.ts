/** `bench`: train and evaluate a suite; its flags, their checks and the run loop. */
import { join } from "node:path";
import { oneLine, UsageError } from "../core/errors.ts";
import { type BackendName, BACKENDS } from "../core/backend.ts";
import { MAX_SEED } from "../core/rng.ts";
import { ensureWritableDir, writeFileAtomic } from "../core/files.ts";
import { getDataset } from "../datasets/registry.ts";
import { getModel } from "../models/registry.ts";
import { getSuite } from "../benchmarks/suites.ts";
import { parseShard, selectShard, shardFromEnv, type ShardSpec } from "../benchmarks/shard.ts";
import {
  DEFAULT_CHECKPOINT_EVERY,
  type MetricsFile,
  planJobs,
  runJob,
  StopRequest,
} from "../benchmarks/runner.ts";
import { planSuite, suiteEntries } from "../benchmarks/plan.ts";
import {
  parseBudget,
  parseSetFlags,
  type RunOverrides,
  validateOverrides,
} from "../benchmarks/overrides.ts";
import { readRealDataRows } from "../benchmarks/evaluations/real_data.ts";
import { summaryMarkdown } from "../reports/summary.ts";
import { defaultReportDir, writeReport } from "../reports/report.ts";
import { existingFolder, type FlagHints, parseFlags, parseInteger, parseSeeds } from "./args.ts";
import { USAGE } from "./usage.ts";
import { chooseBackend } from "./backend.ts";
import { MAX_THREADS, setThreadCount } from "../core/threads.ts";

/** The resolved options of `bench`. */
export interface BenchOptions {
  suite: string;
  models: string[] | null;
  dataset: string;
  dataDir: string | undefined;
  backend: BackendName;
  /** `--threads` (core/threads.ts); absent: the default. */
  threads?: number;
  seeds: number[];
  out: string;
  quiet: boolean;
  /** Continue unfinished runs under `out` (see `planJobs`). */
  resume?: boolean;
  /** Steps between checkpoints; 0 = only at the end of training and on Ctrl-C. */
  checkpointEvery?: number;
  /** Run only this shard of the suite's runs (see benchmarks/shard.ts); null/absent = all. */
  shard?: ShardSpec | null;
  /** `--set`, `--steps`, `--epochs`, `--budget` (benchmarks/overrides.ts). */
  overrides?: RunOverrides;
  /** webgpu: replay recorded training steps (default true; `--no-replay`). */
  replay?: boolean;
}

/** The flags of `bench` (parseArgs options); `slurm` passes the same ones through. */
export const BENCH_FLAGS = {
  suite: { type: "string", default: "quick" },
  models: { type: "string" },
  dataset: { type: "string", default: "mnist" },
  "data-dir": { type: "string" },
  backend: { type: "string", default: "auto" },
  threads: { type: "string" },
  seed: { type: "string", multiple: true },
  seeds: { type: "string" },
  out: { type: "string", default: "results" },
  quiet: { type: "boolean", default: false },
  resume: { type: "boolean", default: false },
  "checkpoint-every": { type: "string", default: String(DEFAULT_CHECKPOINT_EVERY) },
  shard: { type: "string" },
  set: { type: "string", multiple: true },
  steps: { type: "string" },
  epochs: { type: "string" },
  budget: { type: "string" },
  "no-replay": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** What each value flag of `bench` expects, for the one-line error of a flag without a value. */
const BENCH_HINTS: FlagHints = {
  suite: "ci, quick or paper",
  models: "a comma-separated list of models",
  dataset: "mnist, synthetic or cifar10",
  "data-dir": "a folder",
  backend: BACKENDS.join(", "),
  threads: `an integer from 1 to ${MAX_THREADS}`,
  seed: `an integer from 0 to ${MAX_SEED}`,
  seeds: `a list such as 1,2,3 of integers from 0 to ${MAX_SEED}`,
  out: "a folder",
  "checkpoint-every": "an integer ≥ 0",
  shard: "i/n with 1 ≤ i ≤ n",
  set: "model.key=value, e.g. pixelcnn.learningRate=3e-4",
  steps: "an integer ≥ 1",
  epochs: "an integer ≥ 1",
  budget: "images=N or seconds=S",
};

/** Parse and validate the flags of `bench` (names only; files are checked when loaded). */
export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const v = parseFlags("bench", {
    args,
    strict: true,
    allowPositionals: false,
    options: BENCH_FLAGS,
  }, BENCH_HINTS).values;
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
  const checkpointEvery = parseInteger(v["checkpoint-every"]!, "--checkpoint-every", {
    min: 0,
    what: "a step count",
  });
  const overrides: RunOverrides = {
    set: parseSetFlags(v.set ?? []),
    steps: v.steps === undefined
      ? undefined
      : parseInteger(v.steps, "--steps", { min: 1, what: "a step count" }),
    epochs: v.epochs === undefined
      ? undefined
      : parseInteger(v.epochs, "--epochs", { min: 1, what: "an epoch count" }),
    budget: v.budget === undefined ? undefined : parseBudget(v.budget),
  };
  validateOverrides(suite, suiteEntries(suite, models), overrides);
  return {
    suite: v.suite!,
    models,
    dataset: v.dataset!,
    dataDir: v["data-dir"],
    backend: v.backend as BackendName,
    threads: v.threads === undefined
      ? undefined
      : parseInteger(v.threads, "--threads", { min: 1, max: MAX_THREADS, what: "a thread count" }),
    seeds: seeds.length ? [...new Set(seeds)] : [1],
    out: v.out!,
    quiet: v.quiet!,
    resume: v.resume!,
    checkpointEvery,
    shard: v.shard === undefined ? shardFromEnv() : parseShard(v.shard),
    overrides,
    replay: !v["no-replay"],
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
  if (options.dataDir !== undefined) await existingFolder(options.dataDir, "--data-dir");
  const dataset = await getDataset(options.dataset).load(options.dataDir);
  if (options.threads !== undefined) setThreadCount(options.threads);
  const backend = await chooseBackend(options.backend);
  if (backend.name === "webgpu" && options.replay === false) backend.replay = false;
  const say = (line: string) => options.quiet || console.error(line);
  say(
    `genbench: suite ${suite.name}, ${entries.length} model(s) × ${options.seeds.length} seed(s) ` +
      `on ${dataset.name} (${dataset.train.count} train / ${dataset.test.count} test), backend ` +
      `${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}`,
  );
  const all = planSuite(
    suite,
    options.models,
    options.seeds,
    options.overrides ?? {},
    dataset.train.count,
  );
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  const plans = shard
    ? selectShard(all, shard, (p) => ({
      model: p.spec.name,
      variant: p.entry.variant,
      seed: p.seed,
      steps: p.steps ?? p.entry.steps,
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
    summaryMarkdown([
      ...await readRealDataRows(join(options.out, "runs"), dataset.name, suite.name),
      ...results,
    ], {
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
    // The same report as `deno task report --results <out>`: every run under --out.
    const report = await writeReport(options.out, defaultReportDir(options.out));
    console.log(`genbench: wrote ${report}`);
  } catch (error) {
    // The runs are complete on disk, but a run that promised a report must not exit 0 without
    // one (a bad file left in --out by an older run, say).
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `the runs finished but the report was not written: ${oneLine(error)} (fix or move that ` +
        `file, then: deno task report --results ${options.out})`,
    );
  }
  return results;
}

/** The `bench` command. Returns the exit status; bad input throws a UsageError. */
export async function benchCommand(args: string[]): Promise<number> {
  const options = parseBenchArgs(args);
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  await bench(options);
  return 0;
}
