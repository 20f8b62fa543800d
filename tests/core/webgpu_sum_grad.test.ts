/**
 * The gradient of Sum without a host-built `ones` (core/webgpu/sum_grad.ts): the same bits as
 * tfjs's own formula, dy·ones(x.shape), on cpu and webgpu, and on webgpu a step that sums a
 * batch uploads nothing.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
// The union package registers every gradient (tfjs's Sum gradient among them), as the models
// import it; ours must be registered after it.
import "@tensorflow/tfjs";
import { registerSumGradient, sumGradient } from "../../core/webgpu/sum_grad.ts";
import { countGpuCalls } from "../../core/webgpu/tap.ts";
import { Stream } from "../../core/rng.ts";
import { webgpuTest, withKernels } from "./_webgpu.ts";

tf.env().set("PROD", true);

/** tfjs 4.22's gradient of Sum, as its sum_grad.js writes it. */
function tfjsSumGradient(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const expanded = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) expanded[a] = 1;
  return tf.mul(tf.reshape(dy, expanded), tf.ones(x.shape, "float32"));
}

const CASES: { shape: number[]; axis: number | number[] }[] = [
  { shape: [6, 5], axis: 1 },
  { shape: [6, 5], axis: 0 },
  { shape: [6, 5], axis: [0, 1] },
  { shape: [3, 4, 5], axis: [1, 2] },
  { shape: [3, 4, 5], axis: -1 },
];

async function bitsOf(t: tf.Tensor): Promise<Uint32Array> {
  const values = await t.data() as Float32Array;
  return new Uint32Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}

async function checkSameBits(): Promise<void> {
  const stream = Stream.derive(1, "sum-grad");
  for (const { shape, axis } of CASES) {
    const x = tf.tensor(stream.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
    const reduced = tf.sum(x, axis);
    const dyValues = stream.normalArray(Math.max(1, reduced.size));
    dyValues[0] = -0; // the sign of zero survives too
    const dy = tf.tensor(dyValues, reduced.shape);
    const ours = await bitsOf(sumGradient(dy, x, axis));
    const theirs = await bitsOf(tfjsSumGradient(dy, x, axis));
    assert.deepEqual(ours, theirs, `shape [${shape}] axis ${axis}`);
    // Through tf.grad, with the gradient registered.
    registerSumGradient();
    const viaGrad = tf.grad((t: tf.Tensor) => tf.sum(t, axis))(x, dy);
    assert.deepEqual(await bitsOf(viaGrad), theirs, `tf.grad, shape [${shape}] axis ${axis}`);
    tf.dispose([x, reduced, dy, viaGrad]);
  }
}

Deno.test("Sum's gradient without ones: tfjs's bits on cpu", async () => {
  await tf.setBackend("cpu");
  await checkSameBits();
});

webgpuTest("Sum's gradient without ones: tfjs's bits on webgpu, and no upload", async () => {
  await withKernels(async () => {
    await checkSameBits();
    const x = tf.variable(tf.randomUniform([128, 784]));
    const step = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, t)))(x);
    await step().data(); // compile
    const { result, counts } = await countGpuCalls(step);
    await result.data();
    // A second derivative through the spread: with s = Σt², f = s² and P = Σ_j (∂f/∂t_j)·c_j =
    // 4s·Σ t_j c_j, ∂P/∂t_k = 8·t_k·Σ t c + 4s·c_k; the sum's dy (2s) depends on t.
    const c = tf.tensor1d([1, 2, 3]);
    const f = (u: tf.Tensor) => {
      const sq = tf.sum(tf.mul(u, u));
      return tf.mul(sq, sq);
    };
    const penalty = (t: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(t), c));
    const second = tf.grad(penalty)(tf.tensor1d([0.5, -1, 2]));
    assert.deepEqual([...await second.data()], [39, 6, 135]);
    // Only tf.grad's seed, a scalar 1 made on the host (tfjs's own gradient: 401,408 bytes).
    assert.ok(counts.mappedBytes <= 4, `${counts.mappedBytes} bytes uploaded`);
    tf.dispose([x, result]);
  });
});
