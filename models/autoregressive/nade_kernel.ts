/**
 * Host side of NADE's WebAssembly kernels (kernels/nade.as.ts): copies the parameters into the
 * module's memory (rows padded to a multiple of 16 floats), runs the teacher-forced pass, its
 * gradient or the sampler, and copies the results out. Deterministic: one thread, fixed order.
 */
import { wasmBase64 } from "./kernels/nade_wasm.ts";

interface NadeExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  reserve(bytes: number): void;
  groupScratch(dims: number, hp: number, keepRuns: boolean): number;
  groupForward(...args: (number | boolean)[]): void;
  groupBackward(...args: number[]): void;
}

let instance: NadeExports | undefined;

function kernels(): NadeExports {
  if (!instance) {
    const bytes = Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0));
    const module = new WebAssembly.Module(bytes);
    instance = new WebAssembly.Instance(module, { env: { abort: () => {} } })
      .exports as unknown as NadeExports;
  }
  return instance;
}

/** NADE's parameters as host arrays: W, V [D, H], c [H], b [D]. */
export interface NadeParameters {
  dims: number;
  hidden: number;
  W: Float32Array;
  c: Float32Array;
  V: Float32Array;
  b: Float32Array;
}

/** Lays out named float regions in the module's memory, 16-byte aligned, and grows it. */
class Layout {
  readonly at: Record<string, number> = {};
  #next: number;
  constructor(readonly k: NadeExports) {
    this.#next = k.heapBase();
  }
  add(name: string, floats: number): this {
    this.at[name] = this.#next;
    this.#next += Math.ceil(floats / 4) * 16;
    return this;
  }
  commit(): Float32Array {
    this.k.reserve(this.#next);
    return new Float32Array(this.k.memory.buffer);
  }
}

const paddedWidth = (hidden: number) => Math.ceil(hidden / 16) * 16;

/** Copies a [rows, width] matrix into memory at `at` with rows `hp` floats apart. */
function putRows(heap: Float32Array, at: number, src: Float32Array, rows: number, width: number) {
  const hp = paddedWidth(width);
  const base = at / 4;
  if (hp === width) {
    heap.set(src, base);
    return;
  }
  for (let r = 0; r < rows; r++) {
    heap.set(src.subarray(r * width, (r + 1) * width), base + r * hp);
    heap.fill(0, base + r * hp + width, base + (r + 1) * hp);
  }
}

function getRows(heap: Float32Array, at: number, rows: number, width: number): Float32Array {
  const hp = paddedWidth(width);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    out.set(heap.subarray(at / 4 + r * hp, at / 4 + r * hp + width), r * width);
  }
  return out;
}

function parameterLayout(k: NadeExports, p: NadeParameters, batch: number): Layout {
  const hp = paddedWidth(p.hidden);
  return new Layout(k).add("x", batch * p.dims).add("W", p.dims * hp).add("c", hp)
    .add("V", p.dims * hp).add("b", p.dims).add("out", batch * p.dims);
}

function putParameters(heap: Float32Array, at: Record<string, number>, p: NadeParameters) {
  putRows(heap, at.W, p.W, p.dims, p.hidden);
  putRows(heap, at.c, p.c, 1, p.hidden);
  putRows(heap, at.V, p.V, p.dims, p.hidden);
  heap.set(p.b, at.b / 4);
}

/** The kernels' group size: images n0..n0+3 share each pass over V and dV. */
const GROUP = 4;

/** The teacher-forced (thresholds 0) or sampling walk over images n0..n0+gn−1. */
function forwardGroup(
  k: NadeExports,
  at: Record<string, number>,
  thresholds: number,
  batch: number,
  n0: number,
  gn: number,
  dims: number,
  hp: number,
  keepRuns: boolean,
): void {
  const { x, W, c, V, b, out, scratch } = at;
  k.groupForward(x, W, c, V, b, out, thresholds, batch, n0, gn, dims, hp, scratch, keepRuns);
}

/** Logits [B, D] of p(x_d = 1 | x_<d), teacher-forced on x [B, D]. */
export function nadeLogits(p: NadeParameters, x: Float32Array, batch: number): Float32Array {
  const { heap, at } = forwardAll(p, x, batch, false);
  return heap.slice(at.out / 4, at.out / 4 + batch * p.dims);
}

/**
 * `n` samples [n, D]: pixel d of sample s is 1 where its logit exceeds thresholds[d·n + s]
 * (the logit of a uniform draw, so P(1) = σ(logit)).
 */
export function nadeSample(p: NadeParameters, thresholds: Float32Array, n: number): Float32Array {
  const { heap, at } = forwardAll(p, thresholds, n, true);
  return heap.slice(at.x / 4, at.x / 4 + n * p.dims);
}

/**
 * The forward pass over `n` rows, group by group: teacher-forced on `input` = x, or sampling
 * with `input` = the thresholds (the samples are written to x).
 */
function forwardAll(p: NadeParameters, input: Float32Array, n: number, sampling: boolean) {
  const k = kernels();
  const hp = paddedWidth(p.hidden);
  const layout = parameterLayout(k, p, n);
  if (sampling) layout.add("thresholds", p.dims * n);
  layout.add("scratch", k.groupScratch(p.dims, hp, false));
  const heap = layout.commit();
  const at = layout.at;
  putParameters(heap, at, p);
  heap.set(input, (sampling ? at.thresholds : at.x) / 4);
  for (let n0 = 0; n0 < n; n0 += GROUP) {
    const gn = Math.min(GROUP, n - n0);
    forwardGroup(k, at, sampling ? at.thresholds : 0, n, n0, gn, p.dims, hp, false);
  }
  return { heap, at };
}

/** Gradients of NADE's parameters, same shapes as {@link NadeParameters}. */
export interface NadeGradients {
  W: Float32Array;
  c: Float32Array;
  V: Float32Array;
  b: Float32Array;
}

/**
 * Forward and backward per group of images: logits [B, D], and the gradients of Σ g ⊙ logits
 * where `weights(logits, x, g, from, to)` fills g for images from..to−1 from their logits.
 */
function forwardBackward(
  p: NadeParameters,
  x: Float32Array,
  batch: number,
  weights: (
    logits: Float32Array,
    x: Float32Array,
    g: Float32Array,
    from: number,
    to: number,
  ) => void,
): { logits: Float32Array; grads: NadeGradients } {
  const k = kernels();
  const hp = paddedWidth(p.hidden);
  const layout = parameterLayout(k, p, batch).add("g", batch * p.dims).add("dW", p.dims * hp)
    .add("dc", hp).add("dV", p.dims * hp).add("db", p.dims)
    .add("scratch", k.groupScratch(p.dims, hp, true));
  const heap = layout.commit();
  const at = layout.at;
  putParameters(heap, at, p);
  heap.set(x, at.x / 4);
  heap.fill(0, at.dW / 4, at.scratch / 4);
  const logits = heap.subarray(at.out / 4, at.out / 4 + batch * p.dims);
  const g = heap.subarray(at.g / 4, at.g / 4 + batch * p.dims);
  const xs = heap.subarray(at.x / 4, at.x / 4 + batch * p.dims);
  for (let n0 = 0; n0 < batch; n0 += GROUP) {
    const gn = Math.min(GROUP, batch - n0);
    forwardGroup(k, at, 0, batch, n0, gn, p.dims, hp, true);
    weights(logits, xs, g, n0 * p.dims, (n0 + gn) * p.dims);
    k.groupBackward(at.x, at.g, at.V, at.dW, at.dc, at.dV, at.db, n0, gn, p.dims, hp, at.scratch);
  }
  return {
    logits: logits.slice(),
    grads: {
      W: getRows(heap, at.dW, p.dims, p.hidden),
      c: getRows(heap, at.dc, 1, p.hidden),
      V: getRows(heap, at.dV, p.dims, p.hidden),
      b: heap.slice(at.db / 4, at.db / 4 + p.dims),
    },
  };
}

/** Gradients of Σ g ⊙ logits(x) with respect to W, c, V, b (g [B, D]). */
export function nadeGradients(
  p: NadeParameters,
  x: Float32Array,
  g: Float32Array,
  batch: number,
): NadeGradients {
  return forwardBackward(p, x, batch, (_l, _x, out, from, to) => {
    out.set(g.subarray(from, to), from);
  }).grads;
}

/**
 * One training step's work: logits and the gradients of the mean negative log-likelihood,
 * whose gradient with respect to logit d of an image is (σ(logit) − x_d) / B.
 */
export function nadeTrainGradients(
  p: NadeParameters,
  x: Float32Array,
  batch: number,
): { logits: Float32Array; grads: NadeGradients } {
  return forwardBackward(p, x, batch, (logits, xs, g, from, to) => {
    for (let i = from; i < to; i++) g[i] = (1 / (1 + Math.exp(-logits[i])) - xs[i]) / batch;
  });
}
