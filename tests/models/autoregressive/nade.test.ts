import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { type Nade, nadeSpec } from "../../../models/autoregressive/nade.ts";
import { bernoulliLogLikelihood } from "../../../models/layers/nn.ts";
import { nadeTrainGradients } from "../../../models/autoregressive/nade_kernel.ts";
import type { ModelOptions } from "../../../models/model.ts";
import { allBinaryImages, jacobianRows, totalProbability, useCpu } from "./_helpers.ts";
import { assertBothSamplersFollowLogits, buildModel, registerBinaryOnlyChecks } from "./_build.ts";

await useCpu();

const nade = (height: number, width: number, options: ModelOptions = {}) =>
  buildModel<Nade>(nadeSpec, height, width, options);

Deno.test("nade: probabilities of all binary 4×3 and 3×3 images sum to 1", () => {
  for (const [height, width, hidden] of [[4, 3, 5], [3, 3, 500]]) {
    const dims = height * width;
    const images = allBinaryImages(dims);
    const model = nade(height, width, { hidden });
    // Random, non-zero biases so that the check does not rest on the zero initial biases.
    model.b.assign(tf.tensor1d(Stream.derive(3, "b").normalArray(dims)));
    model.c.assign(tf.tensor1d(Stream.derive(3, "c").normalArray(hidden)));
    const total = totalProbability(model, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `${height}×${width}, hidden=${hidden}: Σ p = ${total}`);
    model.dispose();
    images.dispose();
  }
});

Deno.test("nade: logit of pixel d has zero gradient w.r.t. pixels ≥ d (tensor pass)", () => {
  const model = nade(3, 3, { hidden: 6 });
  const tensorPass = { logits: (x: tf.Tensor2D) => model.tensorLogits(x) };
  const jacobian = jacobianRows(tensorPass, [1, 0, 1, 1, 0, 1, 0, 1, 1]);
  for (let d = 0; d < 9; d++) {
    for (let j = 0; j < 9; j++) {
      if (j >= d) assert.equal(jacobian[d][j], 0, `d=${d} j=${j}`);
      else assert.notEqual(jacobian[d][j], 0, `d=${d} j=${j}`);
    }
  }
  model.dispose();
});

Deno.test("nade: the host pass and the tensor pass agree, values and gradients", () => {
  const model = nade(4, 5, { hidden: 7 });
  model.c.assign(tf.tensor1d(Stream.derive(3, "c").normalArray(7)));
  const x = tf.tensor2d(Stream.derive(4, "x").uniformArray(3 * 20).map((u) => u < 0.5 ? 1 : 0), [
    3,
    20,
  ]);
  const weights = tf.tensor2d(Stream.derive(5, "w").normalArray(3 * 20), [3, 20]);
  const variables = [model.W, model.c, model.V, model.b];
  const grads = (f: (x: tf.Tensor2D) => tf.Tensor2D) =>
    tf.variableGrads(() => tf.sum(tf.mul(f(x), weights)) as tf.Scalar, variables);
  const host = grads((v) => model.hostLogits(v));
  const tensor = grads((v) => model.tensorLogits(v));
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const [av, bv] = [a.dataSync(), b.dataSync()];
    for (let i = 0; i < av.length; i++) assert.ok(Math.abs(av[i] - bv[i]) < 1e-4, `${what}[${i}]`);
  };
  close(host.value, tensor.value, "loss");
  close(model.hostLogits(x), model.tensorLogits(x), "logits");
  for (const v of variables) close(host.grads[v.name], tensor.grads[v.name], v.name);
  model.dispose();
});

Deno.test("nade: the kernel's training gradients equal autodiff of the tensor pass's loss", () => {
  // 6 images: one full group of 4 and one partial; 7 hidden units: padded rows.
  const model = nade(4, 5, { hidden: 7 });
  model.c.assign(tf.tensor1d(Stream.derive(3, "c").normalArray(7)));
  model.b.assign(tf.tensor1d(Stream.derive(3, "b").normalArray(20)));
  const bits = Stream.derive(6, "x").uniformArray(6 * 20).map((u) => u < 0.4 ? 1 : 0);
  bits[19] = 1; // the last pixel set: it starts no run
  const x = tf.tensor2d(bits, [6, 20]);
  const variables = [model.W, model.c, model.V, model.b];
  const tape = tf.variableGrads(
    () => tf.neg(tf.mean(bernoulliLogLikelihood(model.tensorLogits(x), x))) as tf.Scalar,
    variables,
  );
  const kernel = nadeTrainGradients(model.parameters(), x.dataSync() as Float32Array, 6);
  const expected = [
    tape.grads[model.W.name],
    tape.grads[model.c.name],
    tape.grads[model.V.name],
    tape.grads[model.b.name],
  ];
  [kernel.grads.W, kernel.grads.c, kernel.grads.V, kernel.grads.b].forEach((got, v) => {
    const want = expected[v].dataSync();
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i] - want[i]) < 1e-5,
        `${variables[v].name}[${i}]: ${got[i]} vs ${want[i]}`,
      );
    }
  });
  const logits = model.tensorLogits(x).dataSync();
  for (let i = 0; i < logits.length; i++) assert.ok(Math.abs(kernel.logits[i] - logits[i]) < 1e-5);
  model.dispose();
});

Deno.test("nade: both incremental samplers draw from the teacher-forced conditionals", async () => {
  const model = nade(4, 4, { hidden: 8 });
  model.b.assign(tf.tensor1d(Stream.derive(4, "b").normalArray(16)));
  await assertBothSamplersFollowLogits(model, "nade");
  // Same seed, same samples; and the two samplers agree.
  const a = await model.sample(8, Stream.derive(9, "s"));
  const b = await model.sample(8, Stream.derive(9, "s"));
  assert.deepEqual(a, b);
  assert.deepEqual(await model.tensorSample(8, Stream.derive(9, "s")), a);
  model.dispose();
});

registerBinaryOnlyChecks("nade", nade, {
  parameters: 785_284,
  training: { hidden: 12, learningRate: 0.02 },
});
