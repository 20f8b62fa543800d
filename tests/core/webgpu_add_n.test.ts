/**
 * AddN past the adapter's storage-buffer limit (core/webgpu/add_n.ts): tfjs-webgpu's own kernel
 * returned a stale buffer for 8 or more inputs on lavapipe; ours sums them, with the bits of the
 * cpu backend's left-to-right sum.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { Stream } from "../../core/rng.ts";
import { webgpuTest, withKernels } from "./_webgpu.ts";

/** `count` tensors of 300 normal draws each (sums whose rounding depends on the order). */
function inputs(count: number): Float32Array[] {
  const stream = Stream.derive(1, "add-n");
  return Array.from(
    { length: count },
    () => Float32Array.from({ length: 300 }, () => stream.normal()),
  );
}

async function sumOn(backend: string, values: Float32Array[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  const tensors = values.map((v) => tf.tensor1d(v));
  const sum = tf.addN(tensors);
  const out = await sum.data() as Float32Array;
  tf.dispose([...tensors, sum]);
  return out;
}

webgpuTest("AddN of 2 to 20 inputs on webgpu equals the cpu sum bit for bit", async () => {
  await withKernels(async () => {
    for (const count of [2, 7, 8, 9, 15, 20]) {
      const values = inputs(count);
      const cpu = await sumOn("cpu", values);
      const gpu = await sumOn("webgpu", values);
      assert.deepEqual(gpu, cpu, `${count} inputs`);
    }
  });
});
