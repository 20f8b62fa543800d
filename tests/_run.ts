/**
 * Subprocesses and temporary folders for the end-to-end tests: the CLI (`deno run -A mod.ts …`)
 * or a deno task's own command line from deno.json, with stdout and stderr decoded, and a poll
 * for a run folder that a running benchmark writes.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The project folder and its entry point. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MOD = join(ROOT, "mod.ts");

export const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** What a finished subprocess left: its exit code and its decoded output. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run Deno with `args` (stdout and stderr piped, colours off) and wait for it to end. */
export async function deno(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Output> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** `deno run -A mod.ts ARGS…` in the project folder, with the extra environment `env`. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<Output> {
  return deno(["run", "-A", MOD, ...args], { env, cwd: ROOT });
}

/** The tasks of deno.json, by name. */
export const TASKS: Record<string, string> =
  JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;

/** The words of `deno task NAME`'s command line in deno.json (it must be a `deno run`). */
export function taskWords(name: string): string[] {
  const words = TASKS[name].split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], `task ${name} is not a deno run`);
  return words;
}

/** `deno task NAME ARGS…`: the task's own command line from deno.json, without a shell. */
export function task(name: string, args: string[]): Promise<Output> {
  return deno([...taskWords(name).slice(1), ...args], { cwd: ROOT });
}

/** The flags that pick the ci suite on synthetic data on the CPU. */
export const CI_CPU = ["--suite", "ci", "--dataset", "synthetic", "--backend", "cpu"];

/** A fresh temporary folder, given to `fn` and removed after it. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = "genbench-test-",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * A fresh folder under results/ (the only place the tasks may write), as a path relative to
 * ROOT, given to `fn` and removed after it.
 */
export async function withResultsDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = ".test-",
): Promise<T> {
  await Deno.mkdir(join(ROOT, "results"), { recursive: true });
  const dir = join("results", `${prefix}${crypto.randomUUID()}`);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(join(ROOT, dir), { recursive: true }).catch(() => {});
  }
}

/** The run folder of `model` under `out`, once it has `file` (polls; fails after 3 minutes). */
export async function waitFor(out: string, model: string, file: string): Promise<string> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const runs = await Array.fromAsync(Deno.readDir(join(out, "runs"))).catch(() => []);
    for (const run of runs) {
      const dir = join(out, "runs", run.name);
      if (
        run.name.startsWith(model) && await Deno.stat(join(dir, file)).then(() => true, () => false)
      ) {
        return dir;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${file} for ${model} under ${out}`);
}

/** Start `deno ARGS` in the background; resolves once `model`'s run under `out` has `file`. */
export async function startUntil(
  args: string[],
  at: { out: string; model: string; file: string },
  stderr: "null" | "piped" = "piped",
) {
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr }).spawn();
  return { child, dir: await waitFor(at.out, at.model, at.file) };
}

/** Temp files of atomic writes anywhere under `dir` (what a write cut short leaves). */
export async function tempFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await tempFiles(path));
    else if (entry.name.endsWith(".tmp")) found.push(path);
  }
  return found;
}

/** A test of signals, SIGKILL or ulimit: POSIX matters, ignored on Windows. */
export function posixTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: Deno.build.os === "windows" }, fn);
}

export async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}
