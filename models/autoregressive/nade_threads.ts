/**
 * NADE's kernels (kernels/nade.as.ts) on several threads: one shared WebAssembly memory, one
 * instance of the module per thread (this one and `threadCount() − 1` workers, nade_worker.ts),
 * and jobs handed over through a small shared control block (Atomics, no messages), so the
 * calls stay synchronous. Images are independent in the forward pass, so the forward jobs split
 * the groups of 4 images between threads and give the same bits on any number of threads. The
 * gradients are summed per fixed chunk of {@link CHUNK} images, each into a buffer of its own,
 * then the chunks' buffers are added in chunk order: the same sums in the same order whatever
 * the thread count.
 */
import { Worker } from "node:worker_threads";
import { threadCount } from "../../core/threads.ts";
import { wasmBase64 } from "./kernels/nade_wasm.ts";

/** The module's exports (pointers are byte offsets into the shared memory). */
export interface NadeExports {
  heapBase(): number;
  reserve(bytes: number): void;
  groupScratch(dims: number, hp: number, keepRuns: boolean): number;
  groupForward(...args: (number | boolean)[]): void;
  groupBackward(...args: number[]): void;
  addInto(dst: number, src: number, floats: number): void;
}

/** One thread's instance and the memory every thread shares. */
export interface NadeInstance {
  k: NadeExports;
  memory: WebAssembly.Memory;
}

/** The kernels' group size: images n0..n0+3 share each pass over V and dV. */
export const GROUP = 4;
/** Images per gradient chunk (a multiple of {@link GROUP}). */
export const CHUNK = 32;
const MAX_PAGES = 32768; // as built (scripts/build_kernels.ts): 2 GiB

let compiled: WebAssembly.Module | undefined;
let main: NadeInstance | undefined;

/** An instance of the kernels on `memory` (this thread's, or a worker's). */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): NadeInstance {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { k: instance.exports as unknown as NadeExports, memory };
}

/** This thread's instance (created on first use, with the shared memory). */
export function mainInstance(): NadeInstance {
  if (!main) {
    compiled = new WebAssembly.Module(Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0)));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    main = instantiate(compiled, memory);
  }
  return main;
}

/** Job kinds. */
export const FORWARD = 1, BACKWARD = 2, REDUCE = 3;

/**
 * The control block, Int32 fields: a job's sequence number, the workers done with it, a failure
 * flag, workers ready, then the job: kind, thread count and its arguments.
 */
export const SEQ = 0, DONE = 1, FAILED = 2, READY = 3, KIND = 4, THREADS = 5, ARGS = 6;
const CONTROL_INTS = 32;

/**
 * A forward job's arguments: x, W, c, V, b, out, thresholds (0: teacher-forced), batch, dims,
 * hp, scratch, the scratch bytes per thread. A backward job's: x, W, c, V, b, out, g, batch,
 * dims, hp, scratch, scratch bytes per thread, the first chunk's gradients, the bytes per chunk,
 * train (1: g = (σ(logit) − x) / batch is computed here from each group's logits; 0: g given).
 * A reduce job's: the first chunk's gradients, bytes per chunk, chunks, floats per chunk.
 */
export type JobArgs = number[];

/** Thread `t` of `threads`'s part of the job in `control`. */
export function runShare(inst: NadeInstance, control: Int32Array, t: number): void {
  const threads = control[THREADS];
  if (t >= threads) return; // a worker the job does not use
  const a = Array.from(control.subarray(ARGS, CONTROL_INTS));
  const kind = control[KIND];
  if (kind === FORWARD) forwardShare(inst.k, a, t, threads);
  else if (kind === BACKWARD) backwardShare(inst, a, t, threads);
  else if (kind === REDUCE) reduceShare(inst.k, a, t, threads);
}

function forwardShare(k: NadeExports, a: number[], t: number, threads: number): void {
  const [x, W, c, V, b, out, thresholds, batch, dims, hp, scratch, scratchBytes] = a;
  const groups = Math.ceil(batch / GROUP);
  const [from, to] = [Math.floor(t * groups / threads), Math.floor((t + 1) * groups / threads)];
  const mine = scratch + t * scratchBytes;
  for (let group = from; group < to; group++) {
    const n0 = group * GROUP;
    const gn = Math.min(GROUP, batch - n0);
    k.groupForward(x, W, c, V, b, out, thresholds, batch, n0, gn, dims, hp, mine, false);
  }
}

function backwardShare(inst: NadeInstance, a: number[], t: number, threads: number): void {
  const { k, memory } = inst;
  const [x, W, c, V, b, out, g, batch, dims, hp, scratch, scratchBytes, grads, gradBytes, train] =
    a;
  const heap = new Float32Array(memory.buffer);
  const mine = scratch + t * scratchBytes;
  const rowBytes = hp * 4;
  for (let chunk = t; chunk * CHUNK < batch; chunk += threads) {
    // The chunk's dW [D, Hp], dc [Hp], dV [D, Hp], db [D], from zero.
    const dW = grads + chunk * gradBytes;
    const [dc, dV, db] = [
      dW + dims * rowBytes,
      dW + (dims + 1) * rowBytes,
      dW + (2 * dims + 1) * rowBytes,
    ];
    heap.fill(0, dW / 4, (dW + gradBytes) / 4);
    for (let n0 = chunk * CHUNK; n0 < Math.min(batch, (chunk + 1) * CHUNK); n0 += GROUP) {
      const gn = Math.min(GROUP, batch - n0);
      k.groupForward(x, W, c, V, b, out, 0, batch, n0, gn, dims, hp, mine, true);
      if (train) {
        const [from, to] = [n0 * dims, (n0 + gn) * dims];
        const [logits, xs, gs] = [out / 4, x / 4, g / 4];
        // The mean NLL's gradient with respect to each logit: (σ(logit) − x) / batch.
        for (let i = from; i < to; i++) {
          heap[gs + i] = (1 / (1 + Math.exp(-heap[logits + i])) - heap[xs + i]) / batch;
        }
      }
      k.groupBackward(x, g, V, dW, dc, dV, db, n0, gn, dims, hp, mine);
    }
  }
}

function reduceShare(k: NadeExports, a: number[], t: number, threads: number): void {
  const [grads, gradBytes, chunks, floats] = a;
  // Quarters of floats, so each thread's slice starts on a 16-byte boundary.
  const quads = floats / 4;
  const [from, to] = [
    Math.floor(t * quads / threads) * 4,
    Math.floor((t + 1) * quads / threads) * 4,
  ];
  if (to <= from) return;
  for (let chunk = 1; chunk < chunks; chunk++) {
    k.addInto(grads + from * 4, grads + chunk * gradBytes + from * 4, to - from);
  }
}

/** The workers, started on first use with more than one thread, and their control block. */
let control: Int32Array | undefined;
const workers: Worker[] = [];
const BOOT_MS = 60_000;

function ensureWorkers(count: number): Int32Array {
  const inst = mainInstance();
  control ??= new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  const ctrl = control;
  while (workers.length < count) {
    const worker = new Worker(new URL("./nade_worker.ts", import.meta.url));
    // Idle workers wait on the control block forever; they must not keep the process alive.
    worker.unref();
    worker.postMessage({
      module: compiled,
      memory: inst.memory,
      control: ctrl.buffer,
      thread: workers.length + 1,
      seq: Atomics.load(ctrl, SEQ),
    });
    workers.push(worker);
  }
  // Block until every worker has its instance (they boot on their own threads).
  const deadline = performance.now() + BOOT_MS;
  for (let ready = Atomics.load(ctrl, READY); ready < workers.length;) {
    if (performance.now() > deadline) throw new Error("nade: worker threads did not start");
    Atomics.wait(ctrl, READY, ready, 100);
    ready = Atomics.load(ctrl, READY);
  }
  return ctrl;
}

/** Run one job on `threadCount()` threads (this one included); returns when all are done. */
export function runJob(kind: number, args: JobArgs): void {
  const inst = mainInstance();
  const threads = threadCount();
  if (threads === 1) {
    const local = new Int32Array(CONTROL_INTS);
    local[KIND] = kind;
    local[THREADS] = 1;
    local.set(args, ARGS);
    runShare(inst, local, 0);
    return;
  }
  const ctrl = ensureWorkers(threads - 1);
  ctrl.fill(0, KIND);
  ctrl[KIND] = kind;
  ctrl[THREADS] = threads;
  ctrl.set(args, ARGS);
  Atomics.store(ctrl, DONE, 0);
  Atomics.add(ctrl, SEQ, 1);
  Atomics.notify(ctrl, SEQ);
  runShare(inst, ctrl, 0);
  for (let done = Atomics.load(ctrl, DONE); done < workers.length;) {
    Atomics.wait(ctrl, DONE, done, 1000);
    done = Atomics.load(ctrl, DONE);
  }
  if (Atomics.load(ctrl, FAILED)) throw new Error("nade: a worker thread failed (see stderr)");
}
