/**
 * MADE's options for the authors' protocol: masked direct input-to-output connections and
 * AdaGrad. Checked by brute force (perturbing inputs), by summing p over every binary image,
 * and against the AdaGrad update written out by hand.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import {
  captureModel,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreModel,
} from "../../../core/checkpoint.ts";
import { Stream } from "../../../core/rng.ts";
import { type Made, madeSpec } from "../../../models/autoregressive/made.ts";
import type { ModelOptions } from "../../../models/model.ts";
import { allBinaryImages, totalProbability, useCpu } from "./_helpers.ts";
import { assertBothSamplersFollowLogits, buildModel } from "./_build.ts";

await useCpu();

const made = (height: number, width: number, options: ModelOptions = {}) =>
  buildModel<Made>(madeSpec, height, width, options);

/** Random biases and a large random direct kernel, so that the direct path matters. */
function randomize(model: Made): void {
  const stream = Stream.derive(5, "weights");
  for (const layer of model.layers) {
    layer.bias.assign(tf.tensor1d(stream.normalArray(layer.bias.size)));
  }
  const kernel = model.direct!.kernel;
  kernel.assign(tf.tensor(stream.normalArray(kernel.size), kernel.shape));
}

Deno.test("made direct: logit d is unchanged by flipping any input ≥ d, changed by some < d", () => {
  const dims = 12;
  const model = made(3, 4, { hidden: 16, layers: 2, direct: true });
  randomize(model);
  const base = Array.from(Stream.derive(6, "x").uniformArray(dims), (u) => (u < 0.5 ? 1 : 0));
  // Row 0: the image; row 1 + i: the image with input i flipped.
  const rows = [base, ...base.map((_, i) => base.map((v, j) => (j === i ? 1 - v : v)))];
  const logits = tf.tidy(() => model.logits(tf.tensor2d(rows)).arraySync());
  let reached = 0;
  for (let i = 0; i < dims; i++) {
    for (let d = 0; d < dims; d++) {
      const changed = logits[1 + i][d] !== logits[0][d];
      if (i >= d) assert.ok(!changed, `flipping input ${i} changed logit ${d}`);
      else if (changed) reached++;
    }
  }
  // The direct path alone reaches every later output (the hidden path may be cut by ReLUs).
  assert.equal(reached, (dims * (dims - 1)) / 2, "every earlier input reaches every later logit");
  model.dispose();
});

Deno.test("made direct: probabilities of all binary 3×3 images sum to 1; samplers agree", async () => {
  const images = allBinaryImages(9);
  for (const layers of [1, 2]) {
    const small = made(3, 3, { hidden: 11, layers, direct: true });
    randomize(small);
    const total = totalProbability(small, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `layers=${layers}: Σ p = ${total}`);
    small.dispose();
    // The sampler check draws 4×4 images.
    const model = made(4, 4, { hidden: 24, layers, direct: true });
    randomize(model);
    await assertBothSamplersFollowLogits(model, `direct, layers=${layers}`);
    assert.deepEqual(
      await model.tensorSample(8, Stream.derive(9, "s")),
      await model.sample(8, Stream.derive(9, "s")),
    );
    model.dispose();
  }
  images.dispose();
});

Deno.test("made: without `direct` the weights and parameter count are the canonical ones", () => {
  const plain = made(28, 28);
  const direct = made(28, 28, { direct: true });
  const count = (m: Made) => [...m.weights().values()].reduce((s, v) => s + v.size, 0);
  assert.equal(plain.direct, null);
  assert.equal(count(plain), 1_035_784);
  assert.equal(count(direct), 1_035_784 + 784 * 784);
  // The direct kernel is drawn last: every other weight is the same as without it.
  for (const [name, value] of plain.weights()) {
    assert.deepEqual(value.dataSync(), direct.weights().get(name)!.dataSync(), name);
  }
  plain.dispose();
  direct.dispose();
});

Deno.test("made adagrad: one step is w − lr·g/√(a0 + g² + ε), the authors' AdaGrad", () => {
  const lr = 0.01;
  const model = made(2, 3, {
    hidden: 5,
    layers: 1,
    direct: true,
    optimizer: "adagrad",
    learningRate: lr,
  });
  randomize(model);
  const batch = tf.tensor2d([[1, 0, 1, 1, 0, 0], [0, 1, 1, 0, 1, 1]]);
  const variables = [...model.weights().values()];
  const before = variables.map((v) => v.dataSync().slice());
  const { grads } = tf.variableGrads(
    () => tf.neg(tf.mean(model.logProb(batch))) as tf.Scalar,
    variables,
  );
  const gradients = variables.map((v) => grads[v.name].dataSync().slice());
  tf.dispose(Object.values(grads));
  tf.dispose(model.trainStep(batch));
  variables.forEach((v, k) => {
    const after = v.dataSync();
    for (let i = 0; i < after.length; i++) {
      const g = gradients[k][i];
      const expected = before[k][i] - lr * g / Math.sqrt(1e-6 + g * g + 1e-7);
      assert.ok(
        Math.abs(after[i] - expected) < 1e-6,
        `${v.name}[${i}]: ${after[i]} vs ${expected}`,
      );
    }
  });
  batch.dispose();
  model.dispose();
});

Deno.test("made adagrad + direct: a restored checkpoint continues bit for bit", async () => {
  const options = { hidden: 7, layers: 1, direct: true, optimizer: "adagrad" };
  const batches = [0, 1, 2, 3].map((k) =>
    tf.tensor2d(Array.from(Stream.derive(k, "rows").uniformArray(18), (u) => (u < 0.4 ? 1 : 0)), [
      3,
      6,
    ])
  );
  const train = (model: Made, from: number, to: number) => {
    for (let k = from; k < to; k++) tf.dispose(model.trainStep(batches[k]));
  };
  const snapshot = async (model: Made) => {
    const { blobs, optimizers } = await captureModel(model);
    return encodeCheckpoint({ run: { note: "test" }, optimizers }, blobs);
  };
  const a = made(2, 3, options);
  train(a, 0, 2);
  const bytes = await snapshot(a);
  train(a, 2, 4);
  const b = made(2, 3, options);
  await restoreModel(decodeCheckpoint(bytes, "test"), b, "test");
  train(b, 2, 4);
  for (const [name, value] of a.weights()) {
    assert.deepEqual(b.weights().get(name)!.dataSync(), value.dataSync(), name);
  }
  assert.deepEqual(await snapshot(b), await snapshot(a));
  tf.dispose(batches);
  a.dispose();
  b.dispose();
});
