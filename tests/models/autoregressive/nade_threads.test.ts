import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { DEFAULT_THREADS, setThreadCount } from "../../../core/threads.ts";
import { type Nade, nadeSpec } from "../../../models/autoregressive/nade.ts";
import {
  nadeGradients,
  nadeLogits,
  nadeSample,
  nadeTrainGradients,
} from "../../../models/autoregressive/nade_kernel.ts";
import { CHUNK } from "../../../models/autoregressive/nade_threads.ts";
import { bernoulliLogLikelihood } from "../../../models/layers/nn.ts";
import { useCpu } from "./_helpers.ts";
import { buildModel } from "./_build.ts";

await useCpu();

// 70 images: three gradient chunks (the last partial, ending in a partial group of 4); 7 hidden
// units: padded rows.
const BATCH = 70;
const model = buildModel<Nade>(nadeSpec, 4, 5, { hidden: 7 });
model.c.assign(tf.tensor1d(Stream.derive(3, "c").normalArray(7)));
model.b.assign(tf.tensor1d(Stream.derive(3, "b").normalArray(20)));
const bits = Float32Array.from(
  Stream.derive(6, "x").uniformArray(BATCH * 20),
  (u) => u < 0.4 ? 1 : 0,
);
const weights = Float32Array.from(Stream.derive(7, "g").normalArray(BATCH * 20));
const thresholds = Float32Array.from(Stream.derive(8, "t").normalArray(BATCH * 20));

/** Every kernel's outputs on `threads` threads, as one list of arrays. */
function outputs(threads: number): Float32Array[] {
  setThreadCount(threads);
  try {
    const p = model.parameters();
    const train = nadeTrainGradients(p, bits, BATCH);
    const given = nadeGradients(p, bits, weights, BATCH);
    return [
      nadeLogits(p, bits, BATCH),
      nadeSample(p, thresholds, BATCH),
      train.logits,
      ...Object.values(train.grads),
      ...Object.values(given),
    ];
  } finally {
    setThreadCount(DEFAULT_THREADS);
  }
}

Deno.test("nade kernels: the same bits on 1, 2, 3 and 4 threads", () => {
  assert.ok(BATCH > 2 * CHUNK, "several gradient chunks");
  const one = outputs(1);
  for (const threads of [2, 3, 4]) {
    outputs(threads).forEach((got, k) => {
      assert.equal(got.length, one[k].length);
      for (let i = 0; i < got.length; i++) {
        assert.ok(Object.is(got[i], one[k][i]), `${threads} threads, output ${k}[${i}]`);
      }
    });
  }
});

Deno.test("nade kernels: gradients summed over several chunks equal autodiff", () => {
  const x = tf.tensor2d(bits, [BATCH, 20]);
  const variables = [model.W, model.c, model.V, model.b];
  const tape = tf.variableGrads(
    () => tf.neg(tf.mean(bernoulliLogLikelihood(model.tensorLogits(x), x))) as tf.Scalar,
    variables,
  );
  setThreadCount(3);
  const kernel = nadeTrainGradients(model.parameters(), bits, BATCH);
  setThreadCount(DEFAULT_THREADS);
  [kernel.grads.W, kernel.grads.c, kernel.grads.V, kernel.grads.b].forEach((got, v) => {
    const want = tape.grads[variables[v].name].dataSync();
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${variables[v].name}[${i}]`);
    }
  });
  tf.dispose([x, tape.value, ...Object.values(tape.grads)]);
});
