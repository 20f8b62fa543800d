/**
 * A fused dense layer, y = act(x·W + b), for the webgpu backend. Through tfjs a dense layer and
 * its gradients take ~10 dispatches (matmul, bias add, activation; the activation's derivative as
 * 1–3 elementwise kernels, two matmuls, a transpose and a reduction for the bias); per-dispatch
 * overhead, not arithmetic, is what costs on a GPU at these sizes. Here the forward pass is one
 * GEMM with the bias and activation applied as it writes, and each gradient is one GEMM that
 * applies the activation's derivative as it loads dy (the bias gradient is the GEMM 1ᵀ·dz).
 * Gradients are lazy, as tfjs's own: a first layer never computes its dx.
 *
 * {@link dense} is the op the models call. Where the kernel is not registered for the backend
 * in use (cpu, wasm, webgpu with stock kernels) it runs the plain tfjs ops, so the reference
 * backends compute exactly what they did before.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedAttrMap } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";
import { type GemmSpec, runGemm } from "./gemm.ts";

/** The activations a dense layer can fuse; `leakyRelu` uses slope 0.2 (the GANs' choice). */
export type Activation = "linear" | "tanh" | "relu" | "leakyRelu" | "sigmoid";

const LEAKY_SLOPE = 0.2;

export const DENSE_KERNEL = "GenbenchDense";
export const DENSE_GRAD_KERNEL = "GenbenchDenseGrad";

/** act(z) in WGSL, with tfjs-webgpu's formulas (its tanh avoids overflow for large |z|). */
const FORWARD: Record<Activation, string> = {
  linear: "return z;",
  tanh: "let e = exp(-2.0 * abs(z)); return sign(z) * (1.0 - e) / (1.0 + e);",
  relu: "return max(z, 0.0);",
  leakyRelu: `if (z < 0.0) { return ${LEAKY_SLOPE} * z; } return z;`,
  sigmoid: "return 1.0 / (1.0 + exp(-z));",
};

/** dy·act′ written from the output y, as tfjs's gradients compute it. */
const DERIVATIVE: Record<Activation, string> = {
  linear: "return g;",
  tanh: "return g * (1.0 - y * y);",
  relu: "return select(0.0, g, y > 0.0);",
  leakyRelu: `return select(g * ${LEAKY_SLOPE}, g, y > 0.0);`,
  sigmoid: "return g * (y * (1.0 - y));",
};

/** The plain tfjs ops of y = act(x·W + b): what every other backend runs. */
function plainDense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, act: Activation): tf.Tensor2D {
  const z = tf.add(tf.matMul(x, w), b) as tf.Tensor2D;
  switch (act) {
    case "linear":
      return z;
    case "tanh":
      return tf.tanh(z);
    case "relu":
      return tf.relu(z);
    case "leakyRelu":
      return tf.leakyRelu(z, LEAKY_SLOPE);
    case "sigmoid":
      return tf.sigmoid(z);
  }
}

/** y = act(x·W + b) for x [batch, in], W [in, out], b [out]: fused where the backend has it. */
export function dense(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  activation: Activation = "linear",
): tf.Tensor2D {
  if (!tf.getKernel(DENSE_KERNEL, tf.getBackend()) || x.dtype !== "float32") {
    return plainDense(x, w, b, activation);
  }
  return tf.engine().runKernel(
    DENSE_KERNEL,
    { x, W: w, b },
    { activation } as unknown as NamedAttrMap,
  ) as tf.Tensor2D;
}

const forwardKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { x, W, b } = inputs;
  const act = (attrs as unknown as { activation: Activation }).activation;
  const [M, K] = x.shape, N = W.shape[1];
  const spec: GemmSpec = {
    M,
    N,
    K,
    inputs: ["xIn", "wIn", "bIn"],
    loadA: `  return xIn[m * ${K} + k];`,
    loadB: `  return wIn[k * ${N} + n];`,
    orderA: "k",
    epilogue: `  let z = v + bIn[n];\n  ${FORWARD[act]}`,
    key: `dense_${act}`,
  };
  return runGemm(backend as WebGPUBackend, spec, [x, W, b], [M, N]);
};

/** One gradient of the fused layer: `which` of x, W, b, from dy and the saved y and x or W. */
const gradKernel: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const { activation: act, which } = attrs as unknown as {
    activation: Activation;
    which: "x" | "W" | "b";
  };
  const { dy, y } = inputs;
  const [batch, out] = dy.shape;
  // dz(i) = dy·act′ at flat index i of the [batch, out] output.
  const dz = `fn dz(i: i32) -> f32 {\n  let g = dyIn[i]; let y = yIn[i];\n  ${
    DERIVATIVE[act]
  }\n}\n`;
  const gpu = backend as WebGPUBackend;
  if (which === "x") {
    const W = inputs.W, inDim = W.shape[0]; // dx [batch, in] = dz · Wᵀ
    return runGemm(
      gpu,
      {
        M: batch,
        N: inDim,
        K: out,
        inputs: ["dyIn", "yIn", "wIn"],
        loadA: `  return dz(m * ${out} + k);`,
        loadB: `  return wIn[n * ${out} + k];`,
        orderA: "k",
        helpers: dz,
        key: `dense_dx_${act}`,
      },
      [dy, y, W],
      [batch, inDim],
    );
  }
  if (which === "W") {
    const x = inputs.x, inDim = x.shape[1]; // dW [in, out] = xᵀ · dz
    return runGemm(
      gpu,
      {
        M: inDim,
        N: out,
        K: batch,
        inputs: ["dyIn", "yIn", "xIn"],
        loadA: `  return xIn[k * ${inDim} + m];`,
        loadB: `  return dz(k * ${out} + n);`,
        orderA: "mn",
        helpers: dz,
        key: `dense_dw_${act}`,
      },
      [dy, y, x],
      [inDim, out],
    );
  }
  // db [out] = 1ᵀ · dz: a column sum in a fixed order.
  return runGemm(
    gpu,
    {
      M: 1,
      N: out,
      K: batch,
      inputs: ["dyIn", "yIn"],
      loadA: "  return 1.0;",
      loadB: `  return dz(k * ${out} + n);`,
      orderA: "k",
      helpers: dz,
      key: `dense_db_${act}`,
    },
    [dy, y],
    [out],
  );
};

// Gradients cannot be unregistered in tfjs (and a second registration warns): register once.
let gradientRegistered = false;

/** Register the fused dense kernels for webgpu and their gradient (idempotent). */
export function installFusedDense(): void {
  if (tf.getKernel(DENSE_KERNEL, "webgpu")) return;
  tf.registerKernel({ kernelName: DENSE_KERNEL, backendName: "webgpu", kernelFunc: forwardKernel });
  tf.registerKernel({
    kernelName: DENSE_GRAD_KERNEL,
    backendName: "webgpu",
    kernelFunc: gradKernel,
  });
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: DENSE_KERNEL,
    inputsToSave: ["x", "W"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, W, y] = saved;
      const grad = (which: string, inputs: Record<string, tf.Tensor>) => () =>
        tf.engine().runKernel(DENSE_GRAD_KERNEL, inputs, { ...attrs, which }) as tf.Tensor;
      const g = dy as tf.Tensor;
      return {
        x: grad("x", { dy: g, y, W }),
        W: grad("W", { dy: g, y, x }),
        b: grad("b", { dy: g, y }),
      };
    },
  });
}

/** Take the fused kernels away again: {@link dense} falls back to tfjs's ops. */
export function uninstallFusedDense(): void {
  if (!tf.getKernel(DENSE_KERNEL, "webgpu")) return;
  tf.unregisterKernel(DENSE_KERNEL, "webgpu");
  tf.unregisterKernel(DENSE_GRAD_KERNEL, "webgpu");
}
