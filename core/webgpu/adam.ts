/**
 * A fused Adam update for the webgpu backend. tfjs's `AdamOptimizer.applyGradients` runs 14
 * small kernels per variable (mul, add, square, div, sqrt…), and on an H100 one Adam update of
 * vae-mlp's 12 tensors took ~30 ms, almost all of it per-kernel host overhead. Here each
 * variable costs one dispatch that reads the value, m, v and the gradient and writes the new
 * value, m and v, with the step's bias corrections 1 − βᵗ formed on the device from the
 * optimizer's accBeta1/accBeta2 (one more dispatch per step advances them), so that a step
 * uploads nothing and its uniforms never change. The outputs are fresh buffers, as in tfjs, so
 * nothing that shares a variable's data changes.
 *
 * {@link installFusedAdam} registers the two kernels core/adam.ts routes Adam's update to; other
 * backends keep their own (the cpu reference: tfjs's code).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";
import { dispatchRaw, grid256 } from "./dispatch.ts";
import {
  ADAM_BETAS_KERNEL,
  ADAM_KERNEL,
  registerOnce,
  routeAdamThroughKernels,
  unregisterFusedAdam,
} from "../adam.ts";

const ADAM_WGSL = `
struct Params { b1: f32, b2: f32, omb1: f32, omb2: f32, eps: f32, lr: f32, size: u32 }
@group(0) @binding(0) var<storage, read_write> xOut: array<f32>;
@group(0) @binding(1) var<storage, read_write> mOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> vOut: array<f32>;
@group(0) @binding(3) var<storage, read> xIn: array<f32>;
@group(0) @binding(4) var<storage, read> mIn: array<f32>;
@group(0) @binding(5) var<storage, read> vIn: array<f32>;
@group(0) @binding(6) var<storage, read> gIn: array<f32>;
@group(0) @binding(7) var<storage, read> betaPowers: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let i = (wg.y * groups.x + wg.x) * 256u + lane;
  if (i >= p.size) { return; }
  // The bias corrections 1 − βᵗ, rounded once as Math.fround(1 − βᵗ) would be.
  let c1 = 1.0 - betaPowers[0];
  let c2 = 1.0 - betaPowers[1];
  let g = gIn[i];
  let m1 = mIn[i] * p.b1 + g * p.omb1;
  let v1 = vIn[i] * p.b2 + (g * g) * p.omb2;
  mOut[i] = m1;
  vOut[i] = v1;
  xOut[i] = xIn[i] + (m1 / c1) / (sqrt(v1 / c2) + p.eps) * (-p.lr);
}`;

/**
 * [β₁ᵗ, β₂ᵗ] for this step (read by every update) and β₁ᵗ⁺¹, β₂ᵗ⁺¹ (the optimizer's accBeta1
 * and accBeta2 for the next), as float32 products: what tfjs's own Adam computes with tf.mul.
 * On the device, so that a step depends on no value from the host (core/webgpu/replay.ts).
 */
const BETAS_WGSL = `
struct Params { b1: f32, b2: f32 }
@group(0) @binding(0) var<storage, read_write> powers: array<f32>;
@group(0) @binding(1) var<storage, read_write> next1: array<f32>;
@group(0) @binding(2) var<storage, read_write> next2: array<f32>;
@group(0) @binding(3) var<storage, read> acc1: array<f32>;
@group(0) @binding(4) var<storage, read> acc2: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@compute @workgroup_size(1)
fn main() {
  powers[0] = acc1[0];
  powers[1] = acc2[0];
  next1[0] = acc1[0] * p.b1;
  next2[0] = acc2[0] * p.b2;
}`;

const betasKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { beta1, beta2 } = attrs as unknown as { beta1: number; beta2: number };
  return dispatchRaw(
    backend as WebGPUBackend,
    BETAS_WGSL,
    [1, 1],
    [[2], [], []],
    [inputs.acc1, inputs.acc2],
    [{ type: "float32", data: [beta1] }, { type: "float32", data: [beta2] }],
  ) as TensorInfo[];
};

/** The webgpu kernel: one dispatch, three outputs. */
const adamKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { x, m, v, g, betaPowers } = inputs;
  const a = attrs as unknown as {
    beta1: number;
    beta2: number;
    epsilon: number;
    learningRate: number;
  };
  // 1 − β is formed in float64 and rounded once, as tfjs does for its scalar operands.
  const scalars = [a.beta1, a.beta2, 1 - a.beta1, 1 - a.beta2, a.epsilon, a.learningRate];
  const size = tf.util.sizeFromShape(x.shape);
  return dispatchRaw(
    backend as WebGPUBackend,
    ADAM_WGSL,
    grid256(size),
    [x.shape, x.shape, x.shape],
    [x, m, v, g, betaPowers],
    [...scalars.map((d) => ({ type: "float32" as const, data: [d] })), {
      type: "uint32",
      data: [size],
    }],
  ) as TensorInfo[];
};

/** Register the fused Adam kernels for webgpu and route Adam's update to them (idempotent). */
export function installFusedAdam(): void {
  registerOnce(ADAM_KERNEL, "webgpu", adamKernel);
  registerOnce(ADAM_BETAS_KERNEL, "webgpu", betasKernel);
  routeAdamThroughKernels();
}

/** Put tfjs's own Adam update back on webgpu (idempotent). */
export function uninstallFusedAdam(): void {
  unregisterFusedAdam("webgpu");
}
