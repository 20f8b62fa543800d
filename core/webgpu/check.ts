/**
 * Checks of our WebGPU kernels against the cpu backend on random inputs: used by the tests (on
 * the software adapter, small tiles) and by `deno task bench:micro --verify` (on a real GPU,
 * with the tiles that run there).
 */
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import type { Stream } from "../rng.ts";
import { type Activation, dense } from "./dense.ts";

/** One kernel call to compare: a name and a function of freshly made inputs. */
export interface KernelCase {
  name: string;
  /** Input shapes; each input is filled with uniform(−1, 1) from the stream. */
  shapes: number[][];
  /** Runs the op on the current backend. */
  run(inputs: tf.Tensor[]): tf.Tensor;
}

/** Result of one comparison. */
export interface CaseResult {
  name: string;
  /** max |ours − cpu| / max |cpu|. */
  relError: number;
  /** Whether two runs on webgpu gave bit-identical outputs. */
  deterministic: boolean;
}

/** Padding of a 2-D convolution: a tfjs mode or explicit [[0, 0], top/bottom, left/right, [0, 0]]. */
export type ConvPad =
  | "same"
  | "valid"
  | [[number, number], [number, number], [number, number], [number, number]];

/** The input gradient of conv2d (NHWC): `dy` against the filter `w`, for an input of shape `x`. */
export function conv2dBackpropInput(
  dy: tf.Tensor,
  w: tf.Tensor,
  x: [number, number, number, number],
  stride: number,
  pad: ConvPad,
): tf.Tensor {
  return tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, x, stride, pad);
}

/** The filter gradient of conv2d (NHWC), by the kernel itself (tfjs has no public op for it). */
export function conv2dBackpropFilter(
  x: tf.Tensor,
  dy: tf.Tensor,
  filter: [number, number, number, number],
  stride: number,
  pad: ConvPad,
): tf.Tensor {
  return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides: [stride, stride],
    pad,
    dataFormat: "NHWC",
    dimRoundingMode: undefined,
    filterShape: filter,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Conv2D cases over odd sizes, strides 1 and 2, `same` and `valid`, batch 1 and 2. */
export function convCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const geoms: [number, number, number, number, number, number, number][] = [
    // batch, height, width, inC, kernel, outC, stride
    [2, 9, 7, 3, 3, 5, 1],
    [1, 8, 8, 4, 4, 6, 2],
    [2, 7, 9, 2, 5, 17, 2],
    [1, 5, 5, 1, 1, 3, 1],
    [2, 6, 5, 6, 3, 1, 1],
  ];
  for (const [b, h, w, c, k, f, s] of geoms) {
    for (const pad of ["same", "valid"] as const) {
      const x: [number, number, number, number] = [b, h, w, c];
      const filter: [number, number, number, number] = [k, k, c, f];
      const out = backend_util.computeConv2DInfo(x, filter, s, 1, pad).outShape;
      if (out.some((d) => d <= 0)) continue;
      const tag = `${x.join("x")} k${k} f${f} s${s} ${pad}`;
      cases.push({
        name: `conv2d ${tag}`,
        shapes: [x, filter],
        run: ([xi, wi]) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, s, pad),
      });
      cases.push({
        name: `conv2dBackpropInput ${tag}`,
        shapes: [out, filter],
        run: ([dy, wi]) => conv2dBackpropInput(dy, wi, x, s, pad),
      });
      cases.push({
        name: `conv2dBackpropFilter ${tag}`,
        shapes: [x, out],
        run: ([xi, dy]) => conv2dBackpropFilter(xi, dy, filter, s, pad),
      });
    }
  }
  // Explicit asymmetric padding, as the masked convolutions of pixelcnn use.
  cases.push({
    name: "conv2d explicit pad [3,0,3,3] 2x7x7x2 k4x7",
    shapes: [[2, 7, 7, 2], [4, 7, 2, 5]],
    run: ([xi, wi]) =>
      tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, [[0, 0], [3, 0], [3, 3], [0, 0]]),
  });
  return cases;
}

/** MatMul cases: every transpose combination, odd sizes, and a split-K one. */
export function matMulCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [m, k, n] of [[5, 7, 3], [37, 300, 45], [3, 1500, 2], [70, 33, 130]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        cases.push({
          name: `matMul ${m}x${k}x${n} tA=${ta} tB=${tb}`,
          shapes: [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]],
          run: ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb),
        });
      }
    }
  }
  return cases;
}

/**
 * Fused dense layer cases ({@link dense}): for every activation and a few odd shapes, the
 * output and the gradients of x, W and b of Σ r ⊙ dense(x, W, b), flattened into one tensor.
 * On cpu `dense` runs tfjs's plain ops, so this compares the fused kernels with those.
 */
export function denseCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const activations: Activation[] = ["linear", "tanh", "relu", "leakyRelu", "sigmoid"];
  // [batch, in, out]: odd sizes, batch 1, an output wider than one tile, a deep K.
  for (const [batch, inputs, outputs] of [[5, 13, 7], [1, 9, 4], [33, 70, 65], [8, 300, 3]]) {
    for (const act of activations) {
      cases.push({
        name: `dense ${batch}x${inputs}→${outputs} ${act} (y, dx, dW, db)`,
        shapes: [[batch, inputs], [inputs, outputs], [outputs], [batch, outputs]],
        run: ([x, w, b, r]) => {
          const layer = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
            dense(xs as tf.Tensor2D, ws as tf.Tensor2D, bs as tf.Tensor1D, act);
          const grads = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
            tf.sum(tf.mul(layer(xs, ws, bs), r))
          )([x, w, b]);
          return tf.concat([layer(x, w, b), ...grads].map((t) => tf.reshape(t, [-1])));
        },
      });
    }
  }
  return cases;
}

function fill(shape: number[], stream: Stream): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * stream.uniform() - 1;
  return out;
}

async function runOn(backend: string, c: KernelCase, data: Float32Array[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  const inputs = data.map((d, i) => tf.tensor(d, c.shapes[i]));
  const out = c.run(inputs);
  const values = await out.data() as Float32Array;
  tf.dispose([...inputs, out]);
  return values;
}

/**
 * Run each case on `webgpu` (twice) and on `cpu`, with inputs drawn from `stream`; the webgpu
 * backend's kernels are whatever is registered (install ours first). Leaves `webgpu` active.
 */
export async function compareWithCpu(cases: KernelCase[], stream: Stream): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const data = c.shapes.map((s) => fill(s, stream));
    const ours = await runOn("webgpu", c, data);
    const again = await runOn("webgpu", c, data);
    const ref = await runOn("cpu", c, data);
    let maxErr = 0, maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      const e = Math.abs(ours[i] - ref[i]);
      maxErr = Number.isNaN(e) ? Infinity : Math.max(maxErr, e);
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    let same = ours.length === again.length && ours.length === ref.length;
    for (let i = 0; same && i < ours.length; i++) {
      if (!Object.is(ours[i], again[i])) same = false;
    }
    results.push({ name: c.name, relError: maxErr / (maxRef || 1), deterministic: same });
  }
  await tf.setBackend("webgpu");
  return results;
}
