/**
 * The fused dense layer (core/webgpu/dense.ts) on the software WebGPU adapter against tfjs's
 * plain ops on the cpu backend: the output and the gradients of x, W and b for every activation
 * over odd shapes and batch 1, within 1e-4 relative error and bit-identical on a repeat; and the
 * dispatches it saves. Skipped where no WebGPU adapter exists.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs";
import { Stream } from "../../core/rng.ts";
import { type Activation, dense, DENSE_KERNEL } from "../../core/webgpu/dense.ts";
import { countDispatches } from "../../core/webgpu/dispatch.ts";
import { installWebGpuKernels, uninstallWebGpuKernels } from "../../core/webgpu/install.ts";

tf.env().set("PROD", true);

async function hasAdapter(): Promise<boolean> {
  try {
    return !!(navigator.gpu && await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

const gpu = await hasAdapter();
if (gpu) await import("@tensorflow/tfjs-backend-webgpu");

const ACTIVATIONS: Activation[] = ["linear", "tanh", "relu", "leakyRelu", "sigmoid"];
// [batch, in, out]: odd sizes, batch 1, an output wider than one tile, a deep K.
const SHAPES: [number, number, number][] = [[5, 13, 7], [1, 9, 4], [33, 70, 65], [8, 300, 3]];

/** Output and gradients (x, W, b) of Σ r ⊙ dense(x, W, b) on the current backend. */
async function outputAndGrads(
  shape: [number, number, number],
  act: Activation,
  seed: number,
): Promise<Float32Array[]> {
  const [batch, inputs, outputs] = shape;
  const s = Stream.derive(seed, `dense-${act}-${shape}`);
  const draw = (dims: number[]) =>
    tf.tensor(
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * s.uniform() - 1),
      dims,
    );
  const [x, w, b, r] = [[batch, inputs], [inputs, outputs], [outputs], [batch, outputs]].map(draw);
  const y = dense(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, act);
  const grads = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
    tf.sum(tf.mul(dense(xs as tf.Tensor2D, ws as tf.Tensor2D, bs as tf.Tensor1D, act), r))
  )([x, w, b]);
  const values = await Promise.all([y, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([x, w, b, r, y, ...grads]);
  return values;
}

Deno.test({
  name: "fused dense on webgpu matches tfjs's ops on cpu for every activation, deterministically",
  ignore: !gpu,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    for (const act of ACTIVATIONS) {
      for (const shape of SHAPES) {
        await tf.setBackend("cpu");
        const expected = await outputAndGrads(shape, act, 1);
        await tf.setBackend("webgpu");
        installWebGpuKernels("small");
        try {
          assert.ok(tf.getKernel(DENSE_KERNEL, "webgpu"));
          const got = await outputAndGrads(shape, act, 1);
          const again = await outputAndGrads(shape, act, 1);
          ["y", "dx", "dW", "db"].forEach((what, i) => {
            const ref = expected[i];
            const maxRef = Math.max(...ref.map(Math.abs), 1e-6);
            const err = Math.max(...ref.map((v, j) => Math.abs(v - got[i][j])));
            assert.ok(
              err / maxRef <= 1e-4,
              `${act} ${shape} ${what}: relative error ${err / maxRef}`,
            );
            assert.ok(got[i].every((v, j) => Object.is(v, again[i][j])), `${act} ${what}: repeat`);
          });
        } finally {
          uninstallWebGpuKernels();
        }
      }
    }
  },
});

Deno.test({
  name: "fused dense: one dispatch forward, one per needed gradient (none for a data input)",
  ignore: !gpu,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await tf.setBackend("webgpu");
    const x = tf.ones([4, 6]) as tf.Tensor2D;
    const w = tf.variable(tf.ones([6, 3]));
    const b = tf.variable(tf.zeros([3]));
    // Gradients of W and b only, as in training where x is the data.
    const step = () => {
      const { grads, value } = tf.variableGrads(() =>
        tf.sum(dense(x, w as tf.Variable as tf.Tensor2D, b as tf.Variable as tf.Tensor1D, "tanh"))
      );
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // creates the constants tfjs caches
    const stock = await countDispatches(step);
    installWebGpuKernels("small");
    try {
      const fused = await countDispatches(step);
      // The forward GEMM, the sum, dW and db.
      assert.ok(fused <= 4, `fused dense dispatched ${fused} times`);
      assert.ok(stock >= fused + 4, `tfjs dispatched ${stock}, fused ${fused}`);
    } finally {
      uninstallWebGpuKernels();
      tf.dispose([x, w, b]);
    }
  },
});
