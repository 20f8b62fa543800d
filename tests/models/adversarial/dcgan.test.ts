import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import { cgan, dcgan } from "../../../models/adversarial/dcgan.ts";
import { type ModelSpec, parameterCount } from "../../../models/model.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");
const MNIST = { height: 28, width: 28, channels: 1 };
const TINY = { height: 8, width: 8, channels: 1 };
const SMALL = { width: 4, latent: 6, bnReference: 32 };

function build(spec: ModelSpec, shape = TINY, options = {}, seed = 1) {
  return spec.create({
    shape,
    options: { ...defaultOptions(spec.options), ...SMALL, ...options },
    init: Stream.derive(seed, "init"),
  });
}

function tinyBatch(n: number): tf.Tensor2D {
  return tf.tensor2d(Stream.derive(5, "x").uniformArray(n * 64), [n, 64]);
}

const DIAGNOSTICS = ["d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"];

Deno.test("dcgan has the canonical 917,122 parameters; cgan adds its label inputs", () => {
  // G: 100·6272 + 6272 + 2·6272 (BN per feature) + 128·64·16 + 64 + 2·64 + 64·16 + 1 = 778,305;
  // D: 16·64 + 64 + 64·128·16 + 128 + 2·128 + 6272 + 1 = 138,817.
  const full = { width: 64, latent: 100, bnReference: 2 };
  const model = build(dcgan, MNIST, full);
  assert.equal(parameterCount(model), 917_122);
  model.dispose();
  // cgan: G's dense layer takes 10 more inputs (+62,720); D's first conv 10 more planes (+10,240).
  const conditional = build(cgan, MNIST, full);
  assert.equal(parameterCount(conditional), 917_122 + 62_720 + 10_240);
  conditional.dispose();
});

Deno.test("dcgan and cgan train a few steps: finite diagnostics, samples in [0, 1]", async () => {
  for (const spec of [dcgan, cgan]) {
    const model = build(spec);
    const x = tinyBatch(8);
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32");
    const noise = Stream.derive(1, "train");
    const before = await model.sample!(6, Stream.derive(1, "s"));
    for (let i = 0; i < 4; i++) {
      const out = model.trainStep(x, noise, labels);
      assert.deepEqual(Object.keys(out).sort(), [...DIAGNOSTICS].sort(), spec.name);
      for (const [name, scalar] of Object.entries(out)) {
        const value = (await scalar.data())[0];
        assert.ok(Number.isFinite(value), `${spec.name} ${name} = ${value}`);
        if (name === "d_real" || name === "d_fake") assert.ok(value > 0 && value < 1);
        if (name.endsWith("grad_norm")) assert.ok(value > 0);
      }
      tf.dispose(Object.values(out));
    }
    const after = await model.sample!(6, Stream.derive(1, "s"));
    assert.notDeepEqual(before, after, `${spec.name} learns`);
    assert.ok(after.every((v) => v >= 0 && v <= 1));
    tf.dispose([x, labels]);
    model.dispose();
  }
});

Deno.test("training is deterministic for a seed", async () => {
  const run = async () => {
    const model = build(dcgan);
    const x = tinyBatch(8);
    const noise = Stream.derive(2, "train");
    for (let i = 0; i < 2; i++) tf.dispose(Object.values(model.trainStep(x, noise)));
    const samples = await model.sample!(4, Stream.derive(2, "s"));
    x.dispose();
    model.dispose();
    return samples;
  };
  assert.deepEqual(await run(), await run());
});

Deno.test("frozen batch statistics: a sample does not depend on its batch", async () => {
  const model = build(dcgan);
  const decoder = model.generator!(Stream.derive(3, "ref"));
  assert.equal(decoder.latent, 6);
  const z = tf.tensor2d(Stream.derive(3, "z").normalArray(5 * 6), [5, 6]);
  const all = await decoder.decode(z).array();
  const one = await decoder.decode(tf.slice(z, [2, 0], [1, 6]) as tf.Tensor2D).array();
  one[0].forEach((v, i) => assert.ok(Math.abs(v - all[2][i]) < 1e-5));
  decoder.dispose();
  // sample() = generator(noise) followed by z draws from the same stream.
  const viaSample = await model.sample!(3, Stream.derive(4, "s"));
  const noise = Stream.derive(4, "s");
  const again = model.generator!(noise);
  const zs = tf.tensor2d(noise.normalArray(3 * 6), [3, 6]);
  const direct = await again.decode(zs).data();
  assert.deepEqual(Array.from(viaSample), Array.from(direct));
  again.dispose();
  tf.dispose([z, zs]);
  model.dispose();
});

Deno.test("cgan samples depend on the labels; bad labels and losses are one-line errors", async () => {
  const model = build(cgan);
  const zeros = await model.sample!(4, Stream.derive(1, "s"), new Int32Array([0, 0, 0, 0]));
  const sevens = await model.sample!(4, Stream.derive(1, "s"), new Int32Array([7, 7, 7, 7]));
  assert.notDeepEqual(zeros, sevens);
  await assert.rejects(
    model.sample!(2, Stream.derive(1, "s"), new Int32Array([0, 10])),
    /label 10/,
  );
  const x = tinyBatch(4);
  assert.throws(
    () => model.trainStep(x, Stream.derive(1, "t")),
    /cgan: this model is class-conditional and needs labels/,
  );
  x.dispose();
  model.dispose();
  assert.throws(
    () => build(dcgan, TINY, { loss: "wasserstein" }),
    /dcgan: option loss: expected one of non-saturating, minimax \(got "wasserstein"\)/,
  );
  assert.throws(
    () => build(dcgan, { height: 10, width: 10, channels: 1 }),
    /divisible by 4/,
  );
  assert.throws(
    () => build(dcgan, TINY, { learningRateD: -1 }),
    /dcgan: option learningRateD: expected a number ≥ 0 \(got -1\)/,
  );
  assert.throws(
    () => build(cgan, TINY, { labelSmoothing: 1 }),
    /cgan: option labelSmoothing: expected a number ≥ 0 and < 1 \(got 1\)/,
  );
});
