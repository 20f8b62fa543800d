/**
 * Run by tests/core/wasm_threads.test.ts in a process of its own (the wasm backend starts once
 * per process): `--threads N`, then ops big enough for XNNPACK to split between threads (a
 * matrix product, a convolution and its gradients, a dense layer's Adam step); prints the
 * thread count and every result's float32 bits as hex.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../../models/layers/nn.ts"; // registers the gradients
import { selectBackend } from "../../core/backend.ts";
import { setThreadCount } from "../../core/threads.ts";

setThreadCount(Number(Deno.args[0]));
const info = await selectBackend("wasm");
const wave = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const a = tf.tensor2d(wave(256 * 300, (i) => Math.sin(i * 0.37)), [256, 300]);
const b = tf.tensor2d(wave(300 * 200, (i) => Math.cos(i * 0.11)), [300, 200]);
const x = tf.tensor4d(wave(8 * 28 * 28 * 16, (i) => Math.sin(i * 0.013)), [8, 28, 28, 16]);
const w = tf.variable(tf.tensor4d(wave(3 * 3 * 16 * 32, (i) => Math.cos(i * 0.7)), [3, 3, 16, 32]));
const conv = (input: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, w, 1, "same");
const [dx] = tf.grads((input: tf.Tensor) => tf.sum(tf.square(conv(input))))([x]);
const optimizer = tf.train.adam(1e-3);
for (let step = 0; step < 3; step++) {
  optimizer.minimize(() => tf.mean(tf.square(conv(x))) as tf.Scalar);
}
const results = [tf.matMul(a, b), conv(x), dx, w];
const hex = (t: tf.Tensor) =>
  Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer), (v) => v.toString(16))
    .join(",");
console.log(JSON.stringify({ threads: info.threads, bits: results.map(hex) }));
