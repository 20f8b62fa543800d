/**
 * One worker thread of NADE's kernels (nade_threads.ts): instantiates the module on the shared
 * memory, says it is ready, then runs its part of each job posted in the control block.
 */
import { parentPort } from "node:worker_threads";
import { DONE, FAILED, instantiate, READY, runShare, SEQ } from "./nade_threads.ts";

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  thread: number;
  seq: number;
}

parentPort!.once("message", ({ module, memory, control, thread, seq }: Start) => {
  const inst = instantiate(module, memory);
  const ctrl = new Int32Array(control);
  Atomics.add(ctrl, READY, 1);
  Atomics.notify(ctrl, READY);
  // This thread does nothing else: it blocks between jobs.
  for (let last = seq;;) {
    Atomics.wait(ctrl, SEQ, last);
    last = Atomics.load(ctrl, SEQ);
    try {
      runShare(inst, ctrl, thread);
    } catch (error) {
      console.error(`nade worker ${thread}:`, error);
      Atomics.store(ctrl, FAILED, 1);
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
});
