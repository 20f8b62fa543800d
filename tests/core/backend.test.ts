import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "../../models/layers/nn.ts"; // registers the gradients
import { selectBackend } from "../../core/backend.ts";

async function convGradients(backend: "cpu" | "wasm"): Promise<Float32Array[]> {
  await selectBackend(backend);
  const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i)), [2, 6, 6, 3]);
  const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
  const loss = (...[x, w]: tf.Tensor[]) =>
    tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same")));
  const grads = tf.grads(loss)([x, w]);
  const values = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
  tf.dispose([x, w, ...grads]);
  return values;
}

Deno.test("wasm trains convolutions: its conv gradients agree with cpu's", async () => {
  const [cpuX, cpuW] = await convGradients("cpu");
  const [wasmX, wasmW] = await convGradients("wasm");
  for (const [a, b] of [[cpuX, wasmX], [cpuW, wasmW]]) {
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(a[i])), `${i}: ${a[i]} vs ${b[i]}`);
    }
  }
  await selectBackend("cpu");
});

Deno.test("auto picks a CPU backend when there is no hardware GPU", async () => {
  const adapter = await navigator.gpu?.requestAdapter();
  const info = await selectBackend("auto");
  if (!adapter || adapter.info.isFallbackAdapter) assert.ok(["wasm", "cpu"].includes(info.name));
  else assert.equal(info.name, "webgpu");
  await selectBackend("cpu");
});
