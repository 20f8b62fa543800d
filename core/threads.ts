/**
 * How many threads genbench's CPU work may use: tfjs-backend-wasm's XNNPACK thread pool
 * (core/wasm_threads.ts) and the host kernels that split a batch over workers (NADE's). Results
 * do not depend on it (tests/core/threads.test.ts): XNNPACK gives each output element to one
 * thread with the same summation order, and the host kernels sum fixed chunks in a fixed order.
 */
import { UsageError } from "./errors.ts";

/** The default: two threads (PyTorch's side-by-side figures are at 1 and 2 threads). */
export const DEFAULT_THREADS = 2;
/** tfjs-backend-wasm starts 8 pthread workers; XNNPACK's pool takes at most that many. */
export const MAX_THREADS = 8;

let count = DEFAULT_THREADS;

/** The thread count in use. */
export function threadCount(): number {
  return count;
}

/**
 * Set the thread count (before the wasm backend starts: its pool is sized once). `source` names
 * the flag in the error.
 */
export function setThreadCount(threads: number, source = "--threads"): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new UsageError(`${source}: expected an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  count = threads;
}
