/**
 * A fused Adam update for the webgpu backend. tfjs's `AdamOptimizer.applyGradients` runs 14
 * small kernels per variable (mul, add, square, div, sqrt…), and on an H100 one Adam update of
 * vae-mlp's 12 tensors took ~30 ms, almost all of it per-kernel host overhead. Here each
 * variable costs three elementwise programs (new m, new v, new value), all reading the old
 * m, v and the gradient, with the step's bias corrections passed as uniforms (no recompiles).
 *
 * {@link installFusedAdam} patches `tf.AdamOptimizer.prototype.applyGradients`; on any backend
 * other than webgpu the patched method calls the original, so the cpu reference is untouched.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedTensorMap, TensorInfo } from "@tensorflow/tfjs-core";

/** What `Optimizer.applyGradients` takes. */
type Gradients = NamedTensorMap | { name: string; tensor: tf.Tensor }[];
import {
  webgpu_util,
  type WebGPUBackend,
  type WebGPUProgram,
} from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";

/** The kernel that computes [value', m', v'] from {x, m, v, g}. */
export const ADAM_KERNEL = "GenbenchAdamUpdate";

type Which = "m" | "v" | "x";

function adamProgram(shape: number[], which: Which): WebGPUProgram {
  const dispatchLayout = webgpu_util.flatDispatchLayout(shape);
  const workgroupSize: [number, number, number] = [256, 1, 1];
  const expr = {
    m: "m1",
    v: "v1",
    x: "xv + (m1 / uniforms.c1) / (sqrt(v1 / uniforms.c2) + uniforms.eps) * (-uniforms.lr)",
  }[which];
  return {
    outputShape: shape,
    variableNames: ["xIn", "mIn", "vIn", "gIn"],
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, shape, workgroupSize),
    workgroupSize,
    size: true,
    uniforms: "b1 : f32, b2 : f32, omb1 : f32, omb2 : f32, eps : f32, lr : f32, c1 : f32, " +
      "c2 : f32,",
    shaderKey: `genbench_adam_${which}`,
    getUserCode: () =>
      `fn main(index : i32) {
  if (index < uniforms.size) {
    let xv = xIn[index];
    let g = gIn[index];
    let m1 = mIn[index] * uniforms.b1 + g * uniforms.omb1;
    let v1 = vIn[index] * uniforms.b2 + (g * g) * uniforms.omb2;
    result[index] = ${expr};
  }
}`,
  } as WebGPUProgram;
}

/** The webgpu kernel: three programs, one output each. */
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
  const values = [
    a.beta1,
    a.beta2,
    1 - a.beta1,
    1 - a.beta2,
    a.epsilon,
    a.learningRate,
    a.c1,
    a.c2,
  ];
  const uniforms = values.map((d) => ({
    type: "float32",
    data: [d],
  }));
  const gpu = backend as WebGPUBackend;
  return (["x", "m", "v"] as Which[]).map((which) =>
    gpu.runWebGPUProgram(adamProgram(x.shape, which), [x, m, v, g], "float32", uniforms)
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
    this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
    this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
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
