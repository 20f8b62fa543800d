import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { discriminatorLoss, generatorLoss } from "../../../models/adversarial/shared.ts";

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
