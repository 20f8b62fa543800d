/**
 * Our WebGPU kernels (core/webgpu/) against the cpu backend on the software adapter (llvmpipe):
 * conv2d and both of its gradients over odd sizes, strides 1 and 2, `same`/`valid`/explicit
 * padding and batch 1; matmul with every transpose and a split-K shape. Each case also runs
 * twice and must be bit-identical. Skipped where no WebGPU adapter exists.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core registers no gradients; the union package does (as models/nn.ts relies on).
import "@tensorflow/tfjs";
import { Stream } from "../../core/rng.ts";
import {
  GENBENCH_WEBGPU_KERNELS,
  installWebGpuKernels,
  uninstallWebGpuKernels,
  webGpuKernelsInstalled,
} from "../../core/webgpu/install.ts";
import { compareWithCpu, convCases, matMulCases } from "../../core/webgpu/check.ts";
import { chooseSplit, chooseTile, gemmSource, setTileMode } from "../../core/webgpu/gemm.ts";
import { matMulSpec } from "../../core/webgpu/matmul.ts";
import { assertMatchesCpu, webgpuTest, withKernels } from "./_webgpu.ts";

// Small tiles: llvmpipe takes minutes to compile the large ones (see core/webgpu/gemm.ts).
const TOLERANCE = 1e-4;

webgpuTest(
  "webgpu conv2d, conv2dBackpropInput, conv2dBackpropFilter match cpu and are deterministic",
  () =>
    withKernels(async () => {
      const results = await compareWithCpu(convCases(), Stream.derive(7, "test-conv"));
      assert.ok(results.length >= 25);
      assertMatchesCpu(results, TOLERANCE);
    }),
);

webgpuTest(
  "webgpu matMul (all transposes, split-K) matches cpu and is deterministic",
  () =>
    withKernels(async () => {
      assertMatchesCpu(await compareWithCpu(matMulCases(), Stream.derive(7, "test-mm")), TOLERANCE);
    }),
);

webgpuTest("install replaces the stock kernels and uninstall puts them back", () => {
  const before = GENBENCH_WEBGPU_KERNELS.map((k) => tf.getKernel(k, "webgpu")!.kernelFunc);
  installWebGpuKernels("small");
  installWebGpuKernels("small"); // idempotent
  assert.ok(webGpuKernelsInstalled());
  GENBENCH_WEBGPU_KERNELS.forEach((k, i) =>
    assert.notEqual(tf.getKernel(k, "webgpu")!.kernelFunc, before[i])
  );
  uninstallWebGpuKernels();
  assert.ok(!webGpuKernelsInstalled());
  GENBENCH_WEBGPU_KERNELS.forEach((k, i) =>
    assert.equal(tf.getKernel(k, "webgpu")!.kernelFunc, before[i])
  );
});

Deno.test("gemm generator: split-K only for few tiles and a deep K; no atomics in any shader", () => {
  setTileMode("large");
  try {
    const tile = chooseTile(64);
    // The filter gradient of a 3×3 64→64 conv at batch 128, 28×28: 5 tiles, K = 100,352.
    assert.ok(chooseSplit(576, 64, 100352, tile) > 50);
    // A conv forward at the same size has 784 tiles: no split.
    assert.equal(chooseSplit(100352, 64, 576, tile), 1);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      for (const splits of [1, 8]) {
        const code = gemmSource(matMulSpec(100, 70, 5000, ta, tb), chooseTile(70), splits);
        assert.ok(!/atomic/i.test(code));
        // Accumulators are separate variables with literal names, never an indexed array.
        assert.ok(/var c7 = vec4<f32>\(0\.0\);/.test(code));
        assert.ok(!/var\s+\w+\s*:\s*array/.test(code));
      }
    }
  } finally {
    setTileMode("small");
  }
});

/** Three Adam steps of a small conv net (conv 3×3 → ReLU → conv 4×4/2 → dense) from `seed`. */
async function trainTinyConvNet(seed: number): Promise<Float32Array> {
  const init = Stream.derive(seed, "init");
  const data = Stream.derive(seed, "data");
  const draw = (shape: number[], scale: number, s: Stream) =>
    tf.tensor(
      Float32Array.from(
        { length: shape.reduce((a, b) => a * b, 1) },
        () => scale * (2 * s.uniform() - 1),
      ),
      shape,
    );
  const w1 = tf.variable(draw([3, 3, 1, 8], 0.5, init));
  const w2 = tf.variable(draw([4, 4, 8, 16], 0.2, init));
  const w3 = tf.variable(draw([4 * 4 * 16, 3], 0.1, init));
  const optimizer = tf.train.adam(0.01);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const x = draw([4, 11, 11, 1], 1, data) as tf.Tensor4D;
    const y = draw([4, 3], 1, data) as tf.Tensor2D;
    const loss = optimizer.minimize(() => {
      const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, "same"));
      const g = tf.conv2d(h, w2 as tf.Tensor4D, 2, "valid");
      const out = tf.matMul(tf.reshape(g, [4, -1]) as tf.Tensor2D, w3 as tf.Tensor2D);
      return tf.mean(tf.square(tf.sub(out, y))) as tf.Scalar;
    }, true)!;
    losses.push((await loss.data())[0]);
    tf.dispose([x, y, loss]);
  }
  const weights = await Promise.all([w1, w2, w3].map((w) => w.data()));
  optimizer.dispose();
  tf.dispose([w1, w2, w3]);
  return Float32Array.from([...losses, ...weights.flatMap((w) => [...w])]);
}

webgpuTest(
  "two training runs with one seed on webgpu (our kernels) are bit-identical",
  () =>
    withKernels(async () => {
      const a = await trainTinyConvNet(3);
      const b = await trainTinyConvNet(3);
      const other = await trainTinyConvNet(4);
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `value ${i} differs`);
      assert.ok(a.some((v, i) => v !== other[i]), "a different seed trains differently");
      // Training moved the loss: the first and last losses differ.
      assert.notEqual(a[0], a[2]);
    }),
);
