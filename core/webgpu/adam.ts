/**
 * A fused Adam update for the webgpu backend. tfjs's `AdamOptimizer.applyGradients` runs 14
 * small kernels per variable (mul, add, square, div, sqrt…), and on an H100 one Adam update of
 * vae-mlp's 12 tensors took ~30 ms, almost all of it per-kernel host overhead. Here each
 * variable costs one dispatch that reads the value, m, v and the gradient and writes the new
 * value, m and v, with the step's bias corrections passed as uniforms (no recompiles). The
 * outputs are fresh buffers, as in tfjs, so nothing that shares a variable's data changes.
 *
 * {@link installFusedAdam} patches `tf.AdamOptimizer.prototype.applyGradients`; on any backend
 * other than webgpu the patched method calls the original, so the cpu reference is untouched.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedTensorMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";
import { dispatchRaw, grid256 } from "./dispatch.ts";

/** What `Optimizer.applyGradients` takes. */
type Gradients = NamedTensorMap | { name: string; tensor: tf.Tensor }[];

/** The kernel that computes [value', m', v'] from {x, m, v, g}. */
export const ADAM_KERNEL = "GenbenchAdamUpdate";

const ADAM_WGSL = `
struct Params { b1: f32, b2: f32, omb1: f32, omb2: f32, eps: f32, lr: f32, c1: f32, c2: f32,
  size: u32 }
@group(0) @binding(0) var<storage, read_write> xOut: array<f32>;
@group(0) @binding(1) var<storage, read_write> mOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> vOut: array<f32>;
@group(0) @binding(3) var<storage, read> xIn: array<f32>;
@group(0) @binding(4) var<storage, read> mIn: array<f32>;
@group(0) @binding(5) var<storage, read> vIn: array<f32>;
@group(0) @binding(6) var<storage, read> gIn: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let i = (wg.y * groups.x + wg.x) * 256u + lane;
  if (i >= p.size) { return; }
  let g = gIn[i];
  let m1 = mIn[i] * p.b1 + g * p.omb1;
  let v1 = vIn[i] * p.b2 + (g * g) * p.omb2;
  mOut[i] = m1;
  vOut[i] = v1;
  xOut[i] = xIn[i] + (m1 / p.c1) / (sqrt(v1 / p.c2) + p.eps) * (-p.lr);
}`;

/** The webgpu kernel: one dispatch, three outputs. */
const adamKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { x, m, v, g } = inputs;
  const a = attrs as unknown as {
    beta1: number;
    beta2: number;
    epsilon: number;
    learningRate: number;
    c1: number;
    c2: number;
  };
  // 1 − β is formed in float64 and rounded once, as tfjs does for its scalar operands.
  const scalars = [
    a.beta1,
    a.beta2,
    1 - a.beta1,
    1 - a.beta2,
    a.epsilon,
    a.learningRate,
    a.c1,
    a.c2,
  ];
  const size = tf.util.sizeFromShape(x.shape);
  return dispatchRaw(
    backend as WebGPUBackend,
    ADAM_WGSL,
    grid256(size),
    [x.shape, x.shape, x.shape],
    [x, m, v, g],
    [...scalars.map((d) => ({ type: "float32" as const, data: [d] })), {
      type: "uint32",
      data: [size],
    }],
  ) as TensorInfo[];
};

// deno-lint-ignore no-explicit-any
type AnyAdam = any;

let originalApply: ((this: AnyAdam, grads: Gradients) => void) | null = null;

/** Adam's update with our kernel on webgpu; the same state layout as tfjs's own. */
function fusedApplyGradients(this: AnyAdam, variableGradients: Gradients) {
  if (tf.getBackend() !== "webgpu") return originalApply!.call(this, variableGradients);
  const varNames = Array.isArray(variableGradients)
    ? variableGradients.map((v) => v.name)
    : Object.keys(variableGradients);
  // The step's bias corrections on the host (reading accBeta, a GPU variable, would wait for
  // the queue), as the same float32 running product tfjs keeps in accBeta1/accBeta2.
  const [acc1, acc2] = accumulatedBetas(this);
  const c1 = Math.fround(1 - acc1);
  const c2 = Math.fround(1 - acc2);
  tf.tidy(() => {
    varNames.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (this.accumulatedFirstMoment[i] == null) {
        this.accumulatedFirstMoment[i] = {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      if (this.accumulatedSecondMoment[i] == null) {
        this.accumulatedSecondMoment[i] = {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i].tensor
        : variableGradients[name];
      if (gradient == null) return;
      const m = this.accumulatedFirstMoment[i].variable as tf.Variable;
      const v = this.accumulatedSecondMoment[i].variable as tf.Variable;
      const [x1, m1, v1] = tf.engine().runKernel(ADAM_KERNEL, { x: value, m, v, g: gradient }, {
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        learningRate: this.learningRate,
        c1,
        c2,
      }) as tf.Tensor[];
      m.assign(m1);
      v.assign(v1);
      value.assign(x1);
    });
    // β^(t+1) as tfjs's float32 tf.mul would make it, from the host: no dispatch, no upload.
    this.accBeta1.assign(tf.scalar(Math.fround(acc1 * Math.fround(this.beta1))));
    this.accBeta2.assign(tf.scalar(Math.fround(acc2 * Math.fround(this.beta2))));
  });
  this.incrementIterations();
}

const betaProducts = new WeakMap<object, { t: number; acc1: number; acc2: number }>();

/** β₁ᵗ and β₂ᵗ for the coming step t = iterations + 1, as float32 running products. */
function accumulatedBetas(opt: AnyAdam): [number, number] {
  const t = opt.iterations_ + 1;
  const b1 = Math.fround(opt.beta1), b2 = Math.fround(opt.beta2);
  let state = betaProducts.get(opt);
  if (!state || state.t > t) state = { t: 1, acc1: b1, acc2: b2 };
  while (state.t < t) {
    state = {
      t: state.t + 1,
      acc1: Math.fround(state.acc1 * b1),
      acc2: Math.fround(state.acc2 * b2),
    };
  }
  betaProducts.set(opt, state);
  return [state.acc1, state.acc2];
}

/** Register the fused Adam kernel and route `AdamOptimizer.applyGradients` to it (idempotent). */
export function installFusedAdam(): void {
  if (originalApply) return;
  if (!tf.getKernel(ADAM_KERNEL, "webgpu")) {
    tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: "webgpu", kernelFunc: adamKernel });
  }
  const proto = tf.AdamOptimizer.prototype as AnyAdam;
  originalApply = proto.applyGradients;
  proto.applyGradients = fusedApplyGradients;
}

/** Put tfjs's own Adam update back (idempotent). */
export function uninstallFusedAdam(): void {
  if (!originalApply) return;
  (tf.AdamOptimizer.prototype as AnyAdam).applyGradients = originalApply;
  originalApply = null;
}
