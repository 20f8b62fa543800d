/**
 * Host side of NADE's WebAssembly kernels (kernels/nade.as.ts): copies the parameters into the
 * module's memory (rows padded to a multiple of 16 floats), runs the teacher-forced pass, its
 * gradient or the sampler on `threadCount()` threads (nade_threads.ts), and copies the results
 * out. Deterministic, and the same on any number of threads: see nade_threads.ts.
 */
import {
  BACKWARD,
  CHUNK,
  FORWARD,
  mainInstance,
  type NadeExports,
  REDUCE,
  runJob,
} from "./nade_threads.ts";
import { threadCount } from "../../core/threads.ts";

function kernels(): NadeExports {
  return mainInstance().k;
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
    return new Float32Array(mainInstance().memory.buffer);
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
  const scratchFloats = k.groupScratch(p.dims, hp, false);
  layout.add("scratch", scratchFloats * threadCount());
  const heap = layout.commit();
  const at = layout.at;
  putParameters(heap, at, p);
  heap.set(input, (sampling ? at.thresholds : at.x) / 4);
  const { x, W, c, V, b, out, scratch } = at;
  const thresholds = sampling ? at.thresholds : 0;
  runJob(FORWARD, [x, W, c, V, b, out, thresholds, n, p.dims, hp, scratch, scratchFloats * 4]);
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
 * Forward and backward over the batch: logits [B, D], and the gradients of Σ g ⊙ logits where
 * g [B, D] is given, or (`train`) g = (σ(logits) − x) / B, the mean NLL's gradient.
 */
function forwardBackward(
  p: NadeParameters,
  x: Float32Array,
  batch: number,
  g: Float32Array | "train",
): { logits: Float32Array; grads: NadeGradients } {
  const k = kernels();
  const hp = paddedWidth(p.hidden);
  const scratchFloats = k.groupScratch(p.dims, hp, true);
  // Per chunk: dW [D, Hp], dc [Hp], dV [D, Hp], db [D] (padded to 4 floats).
  const gradFloats = (2 * p.dims + 1) * hp + Math.ceil(p.dims / 4) * 4;
  const chunks = Math.ceil(batch / CHUNK);
  const layout = parameterLayout(k, p, batch).add("g", batch * p.dims)
    .add("scratch", scratchFloats * threadCount()).add("grads", gradFloats * chunks);
  const heap = layout.commit();
  const at = layout.at;
  putParameters(heap, at, p);
  heap.set(x, at.x / 4);
  if (g !== "train") heap.set(g, at.g / 4);
  const { W, c, V, b, out, scratch, grads } = at;
  runJob(BACKWARD, [
    at.x,
    W,
    c,
    V,
    b,
    out,
    at.g,
    batch,
    p.dims,
    hp,
    scratch,
    scratchFloats * 4,
    grads,
    gradFloats * 4,
    g === "train" ? 1 : 0,
  ]);
  if (chunks > 1) runJob(REDUCE, [grads, gradFloats * 4, chunks, gradFloats]);
  const rowBytes = hp * 4;
  return {
    logits: heap.slice(out / 4, out / 4 + batch * p.dims),
    grads: {
      W: getRows(heap, grads, p.dims, p.hidden),
      c: getRows(heap, grads + p.dims * rowBytes, 1, p.hidden),
      V: getRows(heap, grads + (p.dims + 1) * rowBytes, p.dims, p.hidden),
      b: heap.slice(
        (grads + (2 * p.dims + 1) * rowBytes) / 4,
        (grads + (2 * p.dims + 1) * rowBytes) / 4 + p.dims,
      ),
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
  return forwardBackward(p, x, batch, g).grads;
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
  return forwardBackward(p, x, batch, "train");
}
