/**
 * tfjs-backend-wasm's threaded SIMD build in Deno. Its emscripten glue, seeing `process`, takes
 * the Node path and starts each pthread as `new Worker(blobUrl)` with node:worker_threads' Worker,
 * which Deno refuses (ERR_WORKER_PATH: a blob URL is not a file), and it loads the glue into the
 * worker from a Blob the Node worker script cannot read. Here, while the backend initialises,
 * the global `Worker` the glue assigns and calls is a node:worker_threads Worker of our own
 * worker file (core/wasm_threads_worker.ts), which loads the same glue from node_modules; and
 * `os.cpus()`, which the C++ side halves and uses as the pool's cap, reports 2 × the threads
 * asked for. Both are restored afterwards. The workers never hold the process open.
 */
import * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { Worker as NodeWorker } from "node:worker_threads";

const WORKER = new URL("./wasm_threads_worker.ts", import.meta.url);

/** A pthread worker running our worker file, whatever URL the glue asks for. */
class PthreadWorker extends NodeWorker {
  constructor(_url: unknown) {
    super(WORKER);
  }
  // The glue refs a worker while it runs a pthread; XNNPACK's pool threads never end, and
  // must not keep the process alive after the command is done.
  override ref(): void {}
}

/**
 * Initialise the `wasm` backend with the threaded SIMD binary and `threads` XNNPACK threads;
 * returns the thread count XNNPACK reports.
 */
export async function startThreadedWasm(
  wasm: typeof import("@tensorflow/tfjs-backend-wasm"),
  threads: number,
  setBackend: () => Promise<void>,
): Promise<number> {
  const require = createRequire(import.meta.url);
  const os = require("node:os") as { cpus: () => unknown[] };
  const cpus = os.cpus;
  const worker = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  // tfjs-core turns multithreading off under Node (and Deno looks like Node to it).
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  os.cpus = () => new Array(2 * threads).fill(null);
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => PthreadWorker,
    set: () => {},
  });
  try {
    await setBackend();
  } finally {
    os.cpus = cpus;
    if (worker) Object.defineProperty(globalThis, "Worker", worker);
  }
  return wasm.getThreadsCount();
}
