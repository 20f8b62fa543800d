import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import { parameterCount } from "../../../models/model.ts";
import { cvaeSpec } from "../../../models/latent/cvae.ts";
import { build, DIMS, meanOf, testBatch, train } from "./_helpers.ts";

await selectBackend("cpu");

Deno.test("cvae adds one-hot label inputs to vae-conv's encoder head and decoder input", () => {
  const model = build(cvaeSpec, {}, 1, { height: 28, width: 28, channels: 1 });
  assert.equal(parameterCount(model), 370_945 + 10 * 64 + 10 * 3136);
  model.dispose();
});

Deno.test("cvae needs labels, uses them, and trains", async () => {
  const model = build(cvaeSpec, { learningRate: 3e-3 });
  const { x, labels } = testBatch(64);
  assert.throws(() => model.trainStep(x, Stream.derive(1, "n")), UsageError);
  // The decoder's output depends on the label for the same z.
  const z = tf.zeros([2, 32]) as tf.Tensor2D;
  const out = model.decode!(z, tf.tensor1d([3, 7], "int32")).arraySync() as number[][];
  assert.ok(out[0].some((v, i) => Math.abs(v - out[1][i]) > 1e-6));
  const before = -(await meanOf(model.elbo!(x, Stream.derive(2, "e"), labels).elbo));
  await train(model, 60, 32, 1, true);
  const after = -(await meanOf(model.elbo!(x, Stream.derive(2, "e"), labels).elbo));
  assert.ok(after < 0.7 * before, `${before} → ${after}`);
  // With the true labels the bound is better than with wrong ones: the label is used.
  const wrong = tf.tensor1d(
    Int32Array.from(labels.dataSync(), (y) => (y + 5) % 10),
    "int32",
  );
  const iwaeTrue = await meanOf(model.iwae!(x, 10, Stream.derive(3, "k"), labels));
  const iwaeWrong = await meanOf(model.iwae!(x, 10, Stream.derive(3, "k"), wrong));
  assert.ok(iwaeTrue > iwaeWrong, `true labels ${iwaeTrue} vs wrong ${iwaeWrong}`);
  const samples = await model.sample!(
    10,
    Stream.derive(4, "s"),
    Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  );
  assert.equal(samples.length, 10 * DIMS);
  // Unlabelled sampling cycles through the classes.
  assert.equal((await model.sample!(3, Stream.derive(4, "s"))).length, 3 * DIMS);
  model.dispose();
});

Deno.test("cvae rejects a class count below 2", () => {
  assert.throws(
    () => build(cvaeSpec, { classes: 1 }),
    /cvae: option classes: expected an integer ≥ 2 \(got 1\)/,
  );
});
