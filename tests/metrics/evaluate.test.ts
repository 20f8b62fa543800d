import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { inputBatch } from "../../datasets/batch.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { evaluate } from "../../metrics/evaluate.ts";
import { latentBounds } from "../../metrics/bounds.ts";
import { bernoulli } from "../../models/autoregressive/bernoulli.ts";
import { vaeMlp } from "../../models/latent/vae_mlp.ts";
import { build, DIMS, SYNTH, train } from "../models/latent/_helpers.ts";
import { LinearGaussian } from "./_linear_gaussian.ts";
import { defaultOptions } from "../../models/options.ts";

await selectBackend("cpu");

Deno.test("evaluate: the ELBO is bit-identical whatever the IWAE k (own streams)", async () => {
  const model = build(vaeMlp, { learningRate: 3e-3 });
  await train(model, 30);
  // More test images than one evaluation chunk (500), so that chunks follow one another.
  const data = syntheticDataset({ testCount: 1_100 });
  const run = (iwaeK: number) =>
    evaluate(model, vaeMlp, data, "binary", { evalCount: null, iwaeK }, Stream.derive(3, "eval"));
  const none = await run(0);
  for (const k of [1, 10]) {
    const sums = await run(k);
    assert.equal(sums.elbo, none.elbo, `ELBO with IWAE-${k}`);
    assert.equal(sums.kl, none.kl, `KL with IWAE-${k}`);
    assert.equal(sums.reconBce, none.reconBce, `reconstruction with IWAE-${k}`);
    assert.equal(sums.iwaeK, k);
    assert.ok(Number.isFinite(sums.iwae), `IWAE-${k} ${sums.iwae}`);
  }
  model.dispose();
});

Deno.test("latentBounds: the ELBO and each IWAE-k do not depend on the other ks asked", async () => {
  const model = new LinearGaussian(3, 2, 0.5, Stream.derive(2, "model"));
  const data = model.sampleData(12, Stream.derive(2, "data"));
  const bounds = (ks: number[]) =>
    latentBounds(model, data, 12, 3, { ks, batchSize: 5, noise: Stream.derive(2, "eval") });
  const alone = await bounds([]);
  const both = await bounds([10, 1000]);
  const one = await bounds([1000]);
  assert.equal(both.elbo, alone.elbo);
  assert.equal(both.kl, alone.kl);
  assert.equal(both.iwae[1000], one.iwae[1000]);
});

Deno.test("evaluate: a subsample is one seeded random subset, recorded, not the first n", async () => {
  const model = bernoulli.create({
    shape: SYNTH.shape,
    options: defaultOptions(bernoulli.options),
    init: Stream.derive(1, "init"),
    train: SYNTH.train,
  });
  const protocol = { evalCount: 50, iwaeK: 0 };
  const sums = await evaluate(model, bernoulli, SYNTH, "binary", protocol, Stream.derive(1, "e"));
  assert.equal(sums.count, 50);
  assert.equal(sums.subset.n, 50);
  assert.equal(sums.subset.of, SYNTH.test.count);
  assert.equal(sums.subset.seed, 1);
  const rows = Array.from(sums.subset.rows);
  assert.notDeepEqual(rows, Array.from({ length: 50 }, (_, i) => i), "not the first 50");
  assert.ok(rows[49] > 100, "spread over the whole test set");
  // The sum is over exactly those rows.
  const x = inputBatch(SYNTH.test.images, SYNTH.testBinary, DIMS, rows, "binary", null);
  const logp = await model.logProb!(x).data();
  const direct = Array.from(logp).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sums.logProb! - direct) < 1e-3, `${sums.logProb} vs ${direct}`);
  // Another model of the suite sees the same images; the full set is in order, seed null.
  const other = syntheticDataset();
  const again = await evaluate(model, bernoulli, other, "binary", protocol, Stream.derive(9, "e"));
  assert.deepEqual(Array.from(again.subset.rows), rows);
  const all = await evaluate(model, bernoulli, SYNTH, "binary", {
    evalCount: null,
    iwaeK: 0,
  }, Stream.derive(1, "e"));
  assert.equal(all.subset.seed, null);
  assert.equal(all.count, SYNTH.test.count);
  tf.dispose(x);
  model.dispose();
});
