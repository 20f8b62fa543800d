/**
 * The gradient of `Sum` without a host-built tensor. tfjs's own gradient multiplies dy by
 * `ones(x.shape)`, a tensor made on the host: on webgpu an upload of x's size every training
 * step (401 KB per vae-mlp step, for the reconstruction term's sum over 784 pixels). Here dy is
 * spread over x's shape by a copy: on webgpu one dispatch of our own (tfjs's `Tile` would run
 * on the host when dy is still there, as the seed of `tf.grad` is, and upload its result),
 * elsewhere `tf.broadcastTo`. x·1 = x exactly in IEEE arithmetic, so the gradient is tfjs's
 * bit for bit (tests/core/webgpu_sum_grad.test.ts).
 *
 * Gradients are global in tfjs (not per backend) and cannot be unregistered: this one is
 * registered once, when genbench's WebGPU kernels are first installed, after the union package
 * registered tfjs's.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedAttrMap } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";
import { dispatchRaw, grid256 } from "./dispatch.ts";

export const SPREAD_KERNEL = "GenbenchSpread";

let registered = false;

/** WGSL that copies dy (strides `inStrides`, 0 on spread axes) to every output position. */
function spreadCode(outStrides: number[], inStrides: number[]): string {
  const steps = outStrides.map((s, d) =>
    `  j += (rest / ${s}u) * ${inStrides[d]}u;\n  rest = rest % ${s}u;`
  ).join("\n");
  return `
struct Params { size: u32 }
@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let i = (wg.y * groups.x + wg.x) * 256u + lane;
  if (i >= p.size) { return; }
  var rest = i;
  var j = 0u;
${steps}
  result[i] = dy[j];
}`;
}

/** The webgpu kernel: dy of shape `expanded` (1 on the spread axes) to `shape`. */
const spreadKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { shape } = attrs as unknown as { shape: number[] };
  const dy = inputs.dy;
  const outStrides = [...tf.util.computeStrides(shape), 1];
  const dense = [...tf.util.computeStrides(dy.shape), 1];
  const inStrides = dy.shape.map((n, d) => (n === 1 && shape[d] !== 1 ? 0 : dense[d]));
  const size = tf.util.sizeFromShape(shape);
  return dispatchRaw(
    backend as WebGPUBackend,
    spreadCode(outStrides, inStrides),
    grid256(size),
    [shape],
    [dy],
    [{ type: "uint32", data: [size] }],
  )[0];
};

/** dy of a sum over `axis` of `x`, spread back over x's shape. */
export function sumGradient(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const expanded = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) expanded[a] = 1;
  const reshaped = tf.reshape(dy, expanded);
  if (
    tf.getKernel(SPREAD_KERNEL, tf.getBackend()) && reshaped.dtype === "float32" && x.size > 0
  ) {
    return tf.engine().runKernel(
      SPREAD_KERNEL,
      { dy: reshaped },
      { shape: x.shape } as unknown as NamedAttrMap,
    ) as tf.Tensor;
  }
  const spread = tf.broadcastTo(reshaped, x.shape);
  return spread.dtype === "float32" ? spread : tf.cast(spread, "float32");
}

/** Register the webgpu kernel and replace tfjs's gradient of `Sum` (idempotent). */
export function registerSumGradient(): void {
  if (!tf.getKernel(SPREAD_KERNEL, "webgpu")) {
    tf.registerKernel({
      kernelName: SPREAD_KERNEL,
      backendName: "webgpu",
      kernelFunc: spreadKernel,
    });
  }
  if (registered) return;
  registered = true;
  // The spread's own gradient (a second derivative through a sum, e.g. a gradient penalty):
  // the sum of g over the spread axes.
  tf.registerGradient({
    kernelName: SPREAD_KERNEL,
    inputsToSave: ["dy"],
    gradFunc: (g, saved) => {
      const [dy] = saved;
      const out = (g as tf.Tensor).shape;
      const axes = dy.shape.flatMap((n, d) => (n === 1 && out[d] !== 1 ? [d] : []));
      return { dy: () => tf.reshape(tf.sum(g as tf.Tensor, axes, true), dy.shape) };
    },
  });
  tf.registerGradient({
    kernelName: tf.Sum,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { axis } = attrs as unknown as { axis: number | number[] };
      return { x: () => sumGradient(dy as tf.Tensor, x, axis) };
    },
  });
}
