/**
 * Sharding a suite: a deterministic split of its (model, variant, seed) runs into n disjoint
 * shards whose union is the whole suite, so that n processes (Slurm array tasks) can share it.
 *
 * Shards are numbered from 1: `--shard 1/3`, `--shard 2/3`, `--shard 3/3` (the sbatch script
 * of `deno task slurm` uses `--array=1-n`, so a task's SLURM_ARRAY_TASK_ID is its shard).
 */
import { UsageError } from "../core/errors.ts";

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** What the split looks at in a run: its identity and its budget. */
export interface ShardRun {
  model: string;
  variant: string | null | undefined;
  seed: number;
  /** Training steps: the split balances their sum over the shards. */
  steps: number;
}

/** The key of a run, unique within a suite: `model[:variant]#seed`. */
export function shardKey(run: ShardRun): string {
  return `${run.model}${run.variant ? `:${run.variant}` : ""}#${run.seed}`;
}

function positiveInt(text: string): number | null {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}

/** Parse `i/n` (1 ≤ i ≤ n), or fail naming the flag. */
export function parseShard(text: string, flag = "--shard"): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = match ? positiveInt(match[1]) : null;
  const count = match ? positiveInt(match[2]) : null;
  if (index === null || count === null || count < 1 || index < 1 || index > count) {
    throw new UsageError(
      `${flag}: "${text}" is not a shard (expected i/n with 1 ≤ i ≤ n, e.g. 2/4)`,
    );
  }
  return { index, count };
}

/**
 * The shard of a Slurm array task, from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (or
 * SLURM_ARRAY_TASK_MIN/MAX, and SLURM_ARRAY_TASK_STEP when the array has a step): the task's
 * position in the array, from 1. `null` outside an array job. An array that is not an
 * arithmetic range (e.g. `--array=1,4,9`) cannot be mapped and fails with one line.
 */
export function shardFromEnv(
  get: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ShardSpec | null {
  const idText = get("SLURM_ARRAY_TASK_ID");
  if (idText === undefined || idText === "") return null;
  const read = (name: string): number | null => {
    const text = get(name);
    if (text === undefined || text === "") return null;
    const value = positiveInt(text.trim());
    if (value === null) throw new UsageError(`${name}: "${text}" is not a non-negative integer`);
    return value;
  };
  const id = read("SLURM_ARRAY_TASK_ID")!;
  const min = read("SLURM_ARRAY_TASK_MIN");
  const max = read("SLURM_ARRAY_TASK_MAX");
  const step = read("SLURM_ARRAY_TASK_STEP") ?? 1;
  const given = read("SLURM_ARRAY_TASK_COUNT");
  if (min === null || max === null || step < 1) {
    throw new UsageError(
      "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN/MAX are not: pass --shard i/n",
    );
  }
  const count = Math.floor((max - min) / step) + 1;
  const offset = id - min;
  if (
    offset < 0 || offset % step !== 0 || (max - min) % step !== 0 ||
    (given !== null && given !== count)
  ) {
    throw new UsageError(
      `the Slurm array (tasks ${min}-${max}, step ${step}, ${given ?? "?"} tasks) is not a ` +
        `range of shards: submit --array=1-N, or pass --shard i/n`,
    );
  }
  return { index: offset / step + 1, count };
}

/**
 * Split `runs` into `count` shards (index 0 holds shard 1). Deterministic and independent of the
 * order of `runs`: the runs are ordered by budget (largest first), then by key, and each goes to
 * the shard with the fewest steps so far (the lowest-numbered on a tie). Each shard keeps its
 * runs in their input order.
 */
export function splitShards<T>(runs: T[], count: number, describe: (run: T) => ShardRun): T[][] {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`shard count must be a positive integer, not ${count}`);
  }
  const keyed = runs.map((run, position) => ({ position, run: describe(run) }));
  const keys = new Set(keyed.map((k) => shardKey(k.run)));
  if (keys.size !== keyed.length) throw new RangeError("two runs have the same shard key");
  const order = [...keyed].sort((a, b) =>
    b.run.steps - a.run.steps || compare(shardKey(a.run), shardKey(b.run))
  );
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(runs.length);
  for (const { position, run } of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    shardOf[position] = best;
    load[best] += Math.max(run.steps, 1);
  }
  const shards: T[][] = Array.from({ length: count }, () => []);
  runs.forEach((run, position) => shards[shardOf[position]].push(run));
  return shards;
}

// Code-point order, not the locale's, so that every machine agrees.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The runs of one shard (see {@link splitShards}). */
export function selectShard<T>(runs: T[], shard: ShardSpec, describe: (run: T) => ShardRun): T[] {
  return splitShards(runs, shard.count, describe)[shard.index - 1];
}
