import assert from "node:assert/strict";
import { runWithThreads } from "./_wasm_process.ts";

/** Runs tests/core/_wasm_threads_run.ts with `threads` (a process each: wasm starts once). */
function run(threads: number) {
  return runWithThreads<{ threads: number; bits: string[] }>(
    new URL("./_wasm_threads_run.ts", import.meta.url),
    threads,
  );
}

Deno.test("wasm on 2 and 3 threads: XNNPACK uses them, same bits as on 1, the process ends", async () => {
  // One thread is the plain SIMD binary; more is the threaded binary with its pthread workers,
  // which must not keep the process alive (`run` would hang).
  const one = await run(1);
  assert.equal(one.threads, 1);
  for (const threads of [2, 3]) {
    const many = await run(threads);
    assert.equal(many.threads, threads, "XNNPACK's thread count");
    many.bits.forEach((bits, i) => assert.ok(bits === one.bits[i], `result ${i} differs`));
  }
});
