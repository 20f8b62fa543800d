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
import { dense, DENSE_KERNEL } from "../../core/webgpu/dense.ts";
import { compareWithCpu, denseCases } from "../../core/webgpu/check.ts";
import { countDispatches } from "../../core/webgpu/dispatch.ts";
import { assertMatchesCpu, webgpuTest, withKernels } from "./_webgpu.ts";

webgpuTest(
  "fused dense on webgpu matches tfjs's ops on cpu for every activation, deterministically",
  () =>
    withKernels(async () => {
      assert.ok(tf.getKernel(DENSE_KERNEL, "webgpu"));
      const results = await compareWithCpu(denseCases(), Stream.derive(7, "test-dense"));
      assert.equal(results.length, 20);
      assertMatchesCpu(results, 1e-4);
    }),
);

webgpuTest(
  "fused dense: one dispatch forward, one per needed gradient (none for a data input)",
  async () => {
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
    try {
      await withKernels(async () => {
        const fused = await countDispatches(step);
        // The forward GEMM, the sum, the sum's gradient spread over the output (a dispatch
        // where tfjs uploads a host-made ones, core/webgpu/sum_grad.ts), dW and db.
        assert.ok(fused <= 5, `fused dense dispatched ${fused} times`);
        assert.ok(stock >= fused + 4, `tfjs dispatched ${stock}, fused ${fused}`);
      });
    } finally {
      tf.dispose([x, w, b]);
    }
  },
);
