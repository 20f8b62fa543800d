/**
 * The one switch point for fused Adam updates. tfjs's `AdamOptimizer.applyGradients` runs 14
 * small kernels per variable (mul, add, square, div, sqrt…); a backend that registers the two
 * kernels named here gets one kernel per variable instead (webgpu: core/webgpu/adam.ts, wasm:
 * core/wasm_adam.ts), and every other backend keeps tfjs's own code.
 *
 * - {@link ADAM_BETAS_KERNEL}: {acc1, acc2} (the optimizer's β₁ᵗ, β₂ᵗ) → [betaPowers = [β₁ᵗ,
 *   β₂ᵗ], β₁ᵗ·β₁, β₂ᵗ·β₂], float32 products as tfjs's own `mul`; on the backend, so a step needs
 *   no value from the host.
 * - {@link ADAM_KERNEL}: {x, m, v, g, betaPowers} → [x', m', v'], fresh tensors as in tfjs (so
 *   nothing that shares a variable's data changes), with the same float32 operations in the same
 *   order as tfjs's update; attrs: beta1, beta2, epsilon, learningRate.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedTensorMap } from "@tensorflow/tfjs-core";

/** What `Optimizer.applyGradients` takes. */
type Gradients = NamedTensorMap | { name: string; tensor: tf.Tensor }[];

/** The kernel that computes [value', m', v'] from {x, m, v, g, betaPowers}. */
export const ADAM_KERNEL = "GenbenchAdamUpdate";

/** The kernel that computes [β powers, accBeta1', accBeta2'] from {acc1, acc2}. */
export const ADAM_BETAS_KERNEL = "GenbenchAdamBetas";

// deno-lint-ignore no-explicit-any
type AnyAdam = any;

let originalApply: ((this: AnyAdam, grads: Gradients) => void) | null = null;

/** Whether the active backend has the fused update (both kernels registered). */
export function fusedAdamActive(): boolean {
  const backend = tf.getBackend();
  return originalApply !== null && tf.getKernel(ADAM_KERNEL, backend) !== undefined &&
    tf.getKernel(ADAM_BETAS_KERNEL, backend) !== undefined;
}

/** Adam's update with the backend's fused kernel; the same state layout as tfjs's own. */
function fusedApplyGradients(this: AnyAdam, variableGradients: Gradients) {
  if (!fusedAdamActive()) return originalApply!.call(this, variableGradients);
  const varNames = Array.isArray(variableGradients)
    ? variableGradients.map((v) => v.name)
    : Object.keys(variableGradients);
  tf.tidy(() => {
    const [betaPowers, next1, next2] = tf.engine().runKernel(
      ADAM_BETAS_KERNEL,
      { acc1: this.accBeta1, acc2: this.accBeta2 },
      { beta1: this.beta1, beta2: this.beta2 },
    ) as tf.Tensor[];
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
      const [x1, m1, v1] = tf.engine().runKernel(
        ADAM_KERNEL,
        { x: value, m, v, g: gradient, betaPowers },
        {
          beta1: this.beta1,
          beta2: this.beta2,
          epsilon: this.epsilon,
          learningRate: this.learningRate,
        },
      ) as tf.Tensor[];
      m.assign(m1);
      v.assign(v1);
      value.assign(x1);
    });
    this.accBeta1.assign(next1);
    this.accBeta2.assign(next2);
  });
  this.incrementIterations();
}

/**
 * Route `AdamOptimizer.applyGradients` through {@link fusedApplyGradients} (idempotent); it
 * calls tfjs's own update on any backend without both kernels.
 */
export function routeAdamThroughKernels(): void {
  if (originalApply) return;
  const proto = tf.AdamOptimizer.prototype as AnyAdam;
  originalApply = proto.applyGradients;
  proto.applyGradients = fusedApplyGradients;
}

/** Register `kernelFunc` as `kernelName` on `backendName` unless one is registered. */
export function registerOnce(
  kernelName: string,
  backendName: string,
  kernelFunc: tf.KernelFunc,
): void {
  if (!tf.getKernel(kernelName, backendName)) {
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}

/** tfjs's own update on `backendName` from now on (idempotent). */
export function unregisterFusedAdam(backendName: string): void {
  for (const name of [ADAM_KERNEL, ADAM_BETAS_KERNEL]) {
    if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
  }
}
