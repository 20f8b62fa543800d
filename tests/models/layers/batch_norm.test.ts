import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import { BatchNorm } from "../../../models/layers/batch_norm.ts";

await selectBackend("cpu");

Deno.test("batch norm normalises per feature: zero mean, unit variance before γ, β", async () => {
  const bn = new BatchNorm("bn", 3, Stream.derive(1, "init"));
  bn.gamma.assign(tf.ones([3]));
  const x = tf.tensor2d([[1, 10, -2], [3, 20, -4], [5, 60, 0]]);
  const { y } = bn.apply(x);
  const m = tf.moments(y, 0);
  for (const v of await m.mean.data()) assert.ok(Math.abs(v) < 1e-5);
  for (const v of await m.variance.data()) assert.ok(Math.abs(v - 1) < 1e-3);
});
