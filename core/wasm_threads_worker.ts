/**
 * One pthread of tfjs-backend-wasm's threaded build (see core/wasm_threads.ts): the protocol of
 * the package's own worker script (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js), on
 * node:worker_threads' parent port, loading the emscripten glue from node_modules instead of
 * from the Blob the main thread sends.
 */
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";

// deno-lint-ignore no-explicit-any
type Glue = any;
const GLUE = "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js";

const require = createRequire(import.meta.url);
const port = parentPort!;
const scope = globalThis as Glue;
// The glue posts to the main thread through the global postMessage and announces itself by
// calling startWorker.
scope.postMessage = (message: unknown) => port.postMessage(message);
let Module: Glue = {};
let initialised = false;
let queued: unknown[] = [];
scope.startWorker = (instance: Glue) => {
  Module = instance;
  port.postMessage({ cmd: "loaded" });
};

function load(d: Glue): void {
  Module.wasmModule = d.wasmModule;
  for (const handler of d.handlers) {
    Module[handler] = (...args: unknown[]) =>
      port.postMessage({ cmd: "callHandler", handler, args });
  }
  Module.wasmMemory = d.wasmMemory;
  Module.buffer = d.wasmMemory.buffer;
  Module.ENVIRONMENT_IS_PTHREAD = true;
  Module.instantiateWasm = (info: WebAssembly.Imports, receive: Glue) => {
    const instance = new WebAssembly.Instance(Module.wasmModule, info);
    receive(instance);
    Module.wasmModule = null;
    return instance.exports;
  };
  require(GLUE)(Module);
}

function run(d: Glue): void {
  Module.__emscripten_thread_init(d.pthread_ptr, 0, 0, 1);
  Module.establishStackSpace();
  Module.PThread.receiveObjectTransfer(d);
  Module.PThread.threadInitTLS();
  if (!initialised) {
    queued.forEach((queue) => Module.executeNotifiedProxyingQueue(queue));
    queued = [];
    initialised = true;
  }
  try {
    Module.invokeEntryPoint(d.start_routine, d.arg);
  } catch (error: Glue) {
    if (error === "unwind") return;
    if (!(error instanceof Module.ExitStatus)) throw error;
    if (!Module.keepRuntimeAlive()) Module.__emscripten_thread_exit(error.status);
  }
}

port.on("message", (d: Glue) => {
  try {
    if (d.cmd === "load") load(d);
    else if (d.cmd === "run") run(d);
    else if (d.cmd === "cancel") {
      if (Module._pthread_self()) Module.__emscripten_thread_exit(-1);
    } else if (d.cmd === "processProxyingQueue") {
      if (initialised) Module.executeNotifiedProxyingQueue(d.queue);
      else queued.push(d.queue);
    } else if (d.cmd && d.target !== "setimmediate") {
      console.error(`wasm thread: unknown command ${d.cmd}`);
    }
  } catch (error) {
    Module.__emscripten_thread_crashed?.();
    throw error;
  }
});
