import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import {
  BatchNorm,
  discriminatorLoss,
  DownConv,
  generatorLoss,
  UpConv,
} from "../../../models/adversarial/shared.ts";

await selectBackend("cpu");

Deno.test("minimax G loss saturates where D rejects the fakes; non-saturating does not", () => {
  // D(G(z)) = σ(−6) ≈ 0.0025: a confident rejection, as early in training.
  const logits = tf.fill([4, 1], -6);
  const grad = (loss: "minimax" | "non-saturating") =>
    Math.abs(tf.grad((l: tf.Tensor) => generatorLoss(l, loss))(logits).dataSync()[0]);
  // d/dl −softplus(l) = −σ(l); d/dl softplus(−l) = −σ(−l); each divided by the batch of 4.
  assert.ok(Math.abs(grad("minimax") - 1 / (1 + Math.exp(6)) / 4) < 1e-6);
  assert.ok(Math.abs(grad("non-saturating") - 1 / (1 + Math.exp(-6)) / 4) < 1e-6);
});

Deno.test("batch norm normalises per feature: zero mean, unit variance before γ, β", async () => {
  const bn = new BatchNorm("bn", 3, Stream.derive(1, "init"));
  bn.gamma.assign(tf.ones([3]));
  const x = tf.tensor2d([[1, 10, -2], [3, 20, -4], [5, 60, 0]]);
  const { y } = bn.apply(x);
  const m = tf.moments(y, 0);
  for (const v of await m.mean.data()) assert.ok(Math.abs(v) < 1e-5);
  for (const v of await m.variance.data()) assert.ok(Math.abs(v - 1) < 1e-3);
});

Deno.test("the conv layers' custom kernel gradients match tfjs's own", () => {
  const init = Stream.derive(2, "init");
  const down = new DownConv("d", 3, 5, init);
  const up = new UpConv("u", 5, 2, init);
  const x = tf.tensor4d(init.normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const loss = (k1: tf.Tensor, k2: tf.Tensor, custom: boolean) => {
    const h = custom
      ? down.apply(x)
      : tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 2, "same"), down.bias) as tf.Tensor4D;
    const out = custom
      ? up.apply(h)
      : tf.add(tf.conv2dTranspose(h, k2 as tf.Tensor4D, [2, 8, 8, 2], 2, "same"), up.bias);
    return tf.sum(tf.square(tf.sin(out))) as tf.Scalar;
  };
  const mine = tf.variableGrads(() => loss(down.kernel, up.kernel, true), [down.kernel, up.kernel]);
  const ref = tf.grads((k1: tf.Tensor, k2: tf.Tensor) => loss(k1, k2, false))([
    down.kernel,
    up.kernel,
  ]);
  const a = [mine.grads[down.kernel.name], mine.grads[up.kernel.name]];
  for (let i = 0; i < 2; i++) {
    const diff = tf.max(tf.abs(tf.sub(a[i], ref[i]))).dataSync()[0];
    const scale = tf.max(tf.abs(ref[i])).dataSync()[0];
    assert.ok(diff < 1e-4 * scale, `kernel ${i}: ${diff} vs ${scale}`);
  }
});

Deno.test("D's loss is the cross-entropy with target 1 − s on reals and 0 on fakes", () => {
  const real = [2, -1];
  const fake = [0.5, -3];
  const sig = (a: number) => 1 / (1 + Math.exp(-a));
  for (const target of [1, 0.9]) {
    const got = discriminatorLoss(tf.tensor1d(real), tf.tensor1d(fake), target).dataSync()[0];
    const bce = (a: number, t: number) => -(t * Math.log(sig(a)) + (1 - t) * Math.log(1 - sig(a)));
    const expected = (bce(real[0], target) + bce(real[1], target)) / 2 +
      (bce(fake[0], 0) + bce(fake[1], 0)) / 2;
    assert.ok(Math.abs(got - expected) < 1e-5, `target ${target}: ${got} vs ${expected}`);
  }
});
