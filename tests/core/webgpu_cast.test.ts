/**
 * Casts of int32 and bool to float32 on webgpu (core/webgpu/cast.ts). tfjs-webgpu's own Cast
 * relabelled the int32 buffer as float32: a masked sum over a middle axis and a one-hot matrix
 * product built invalid shaders on lavapipe, ran nothing, and text2image's first step differed
 * from run to run. Each case here must pass WebGPU validation and give the cpu backend's bits.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { Stream } from "../../core/rng.ts";
import { inputBatch } from "../../datasets/batch.ts";
import { dimOf } from "../../datasets/dataset.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { defaultOptions } from "../../models/options.ts";
import { text2image } from "../../models/adversarial/text2image.ts";
import { entryOf, getSuite } from "../../benchmarks/suites.ts";
import { webgpuTest, withKernels } from "./_webgpu.ts";

/** `fn`'s result read back, and the first WebGPU validation error it caused (null: none). */
async function validated(fn: () => Promise<Float32Array[]>) {
  const device = (tf.backend() as WebGPUBackend).device;
  device.pushErrorScope("validation");
  const values = await fn();
  const error = await device.popErrorScope();
  return { values, error: error?.message ?? null };
}

/** Token ids [rows, 8] in 0..vocabulary−1, about a quarter of them 0 (padding). */
function tokens(rows: number, vocabulary: number): Int32Array {
  const stream = Stream.derive(1, "cast-tokens");
  return Int32Array.from(
    { length: rows * 8 },
    () => (stream.uniform() < 0.25 ? 0 : stream.int(vocabulary)),
  );
}

/** A masked count over the words and a one-hot product with its gradient, as the text encoder. */
async function encoderOps(backend: string, rows: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const vocabulary = 42;
  const ids = tf.tensor2d(tokens(rows, vocabulary), [rows, 8], "int32");
  const w = tf.tensor2d(
    Float32Array.from({ length: vocabulary * 16 }, (_, i) => Math.sin(i)),
    [vocabulary, 16],
  );
  const out = tf.tidy(() => {
    // [rows, 8, 1]: the sum over the middle axis goes through a transpose.
    const mask = tf.expandDims(tf.cast(tf.notEqual(ids, 0), "float32"), 2);
    const counts = tf.sum(mask, 1);
    const oneHot = tf.cast(
      tf.oneHot(tf.reshape(ids, [rows * 8]) as tf.Tensor1D, vocabulary),
      "float32",
    );
    const words = tf.matMul(oneHot, w);
    // Gradient oneHot^T · ones: how often each word occurs (exact on any backend).
    const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.matMul(oneHot, v)))(w);
    return [counts, words, grad];
  });
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([ids, w, ...out]);
  return values;
}

webgpuTest(
  "int32 and bool cast to float32: masked sums and one-hot products equal cpu",
  async () => {
    await withKernels(async () => {
      // 4 rows stay on the host (tfjs runs small ops there); 160 rows go to the GPU.
      for (const rows of [4, 160]) {
        const cpu = await encoderOps("cpu", rows);
        await tf.setBackend("webgpu");
        const gpu = await validated(() => encoderOps("webgpu", rows));
        assert.equal(gpu.error, null, `${rows} rows`);
        ["masked count", "one-hot product", "its gradient"].forEach((what, i) =>
          assert.deepEqual(gpu.values[i], cpu[i], `${rows} rows: ${what}`)
        );
      }
    });
  },
);

/** text2image's first step at the ci options, batch 8: its losses as float32 bits. */
async function text2imageStep(): Promise<Float32Array[]> {
  const data = syntheticDataset();
  const options = {
    ...defaultOptions(text2image.options),
    ...entryOf(getSuite("ci"), "text2image").options,
    batchSize: 8,
  };
  const split = text2image.trainingSplit!(data.train, data.shape, options);
  const model = text2image.create({
    shape: data.shape,
    options,
    init: Stream.derive(1, "init"),
    train: split,
  }) as unknown as {
    trainStep(x: tf.Tensor2D, noise: Stream, labels: tf.Tensor1D): Record<string, tf.Scalar>;
    dispose(): void;
  };
  const rows = Int32Array.from({ length: 8 }, (_, i) => 3 * i);
  const x = inputBatch(split.images, null, dimOf(data.shape), rows, "grey", null);
  const labels = tf.tensor1d(Int32Array.from(rows, (r) => split.labels[r]), "int32");
  try {
    const losses = Object.values(model.trainStep(x, Stream.derive(1, "noise"), labels));
    const values = await Promise.all(losses.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(losses);
    return values;
  } finally {
    tf.dispose([x, labels]);
    model.dispose();
  }
}

webgpuTest("text2image: two first steps on webgpu give the same losses, bit for bit", async () => {
  await withKernels(async () => {
    const first = await validated(text2imageStep);
    const second = await validated(text2imageStep);
    assert.equal(first.error, null);
    assert.deepEqual(second.values, first.values);
  });
});
