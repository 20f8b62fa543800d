/**
 * Runs a wasm test script in a process of its own with `--threads N` as its argument (tfjs-wasm
 * starts once per process, with its thread count fixed) and returns what it printed as JSON.
 */
import assert from "node:assert/strict";

export async function runWithThreads<T>(script: URL, threads: number): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--deny-net", "--allow-read=.", script.pathname, String(threads)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `--threads ${threads} failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as T;
}
