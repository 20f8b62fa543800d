import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../core/backend.ts";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import {
  checkK,
  iwaeBound,
  iwaeFromLogWeights,
  latentBounds,
  RunningLogSumExp,
} from "../../metrics/bounds.ts";
import { LinearGaussian } from "./_linear_gaussian.ts";
import { vaeMlp } from "../../models/latent/vae_mlp.ts";
import { build, testBatch, train } from "../models/latent/_helpers.ts";

await selectBackend("cpu");

const mean = (values: ArrayLike<number>) =>
  Array.from(values).reduce((a, b) => a + b, 0) /
  values.length;

Deno.test("linear-Gaussian model: ELBO ≤ log p(x), IWAE-k rises with k to log p(x)", async () => {
  const model = new LinearGaussian(3, 2, 0.5, Stream.derive(11, "model"));
  const n = 64;
  const data = model.sampleData(n, Stream.derive(11, "data"));
  const exact = model.logProb(data);
  const x = tf.tensor2d(data, [n, 3]);
  const terms = model.elbo(x);
  const elbo = await terms.elbo.data();
  for (let i = 0; i < n; i++) assert.ok(elbo[i] < exact[i], `example ${i}`);
  const gap = mean(exact) - mean(elbo);
  assert.ok(gap > 0.1, `q is deliberately imperfect (gap ${gap})`);

  const noise = Stream.derive(11, "eval");
  const bounds: Record<number, number> = {};
  for (const k of [1, 10, 100, 5000]) {
    bounds[k] = mean(await iwaeBound(model, x, k, noise, { maxRows: 4096 }));
  }
  assert.ok(bounds[1] < bounds[10], `IWAE-1 ${bounds[1]} < IWAE-10 ${bounds[10]}`);
  assert.ok(bounds[10] < bounds[100], `IWAE-10 ${bounds[10]} < IWAE-100 ${bounds[100]}`);
  assert.ok(bounds[100] < bounds[5000], `IWAE-100 ${bounds[100]} < IWAE-5000 ${bounds[5000]}`);
  // IWAE-1 is an unbiased estimate of the ELBO.
  assert.ok(Math.abs(bounds[1] - mean(elbo)) < 0.25, `IWAE-1 ${bounds[1]} vs ELBO ${mean(elbo)}`);
  const error = Math.abs(bounds[5000] - mean(exact));
  assert.ok(error < 0.05, `IWAE-5000 ${bounds[5000]} vs exact ${mean(exact)} (${error})`);
  x.dispose();
});

Deno.test("chunked IWAE equals one unchunked call on the same draws", async () => {
  const model = new LinearGaussian(3, 2, 0.5, Stream.derive(5, "model"));
  const n = 8;
  const x = tf.tensor2d(model.sampleData(n, Stream.derive(5, "data")), [n, 3]);
  const whole = await model.iwae(x, 50, Stream.derive(5, "eval")).data();
  // 8 examples × 7 samples per chunk = 56 rows ≤ 60: chunks of 7, 7, …, 1.
  const chunked = await iwaeBound(model, x, 50, Stream.derive(5, "eval"), { maxRows: 60 });
  for (let i = 0; i < n; i++) assert.ok(Math.abs(whole[i] - chunked[i]) < 1e-4, `example ${i}`);
  x.dispose();
});

Deno.test("device-side chunked IWAE equals the log-mean-exp of all weights", async () => {
  const s = Stream.derive(3, "w");
  const all = Float32Array.from({ length: 4 * 30 }, () => 40 * s.normal());
  // Serve the weights in column blocks, as a model would draw them chunk after chunk.
  let used = 0;
  const bound = iwaeFromLogWeights(4, 30, (c) => {
    const block = tf.tidy(() => tf.slice(tf.tensor2d(all, [4, 30]), [0, used], [4, c]));
    used += c;
    return block as tf.Tensor2D;
  }, 4 * 8);
  const values = await bound.data();
  for (let i = 0; i < 4; i++) {
    const row = Array.from(all.subarray(i * 30, i * 30 + 30));
    const max = Math.max(...row);
    const direct = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0) / 30);
    assert.ok(Math.abs(values[i] - direct) < 1e-3 * Math.max(1, Math.abs(direct)), `row ${i}`);
  }
  assert.equal(used, 30);
});

Deno.test("running log-sum-exp handles huge and -Infinity values", () => {
  const acc = new RunningLogSumExp(2);
  acc.add([1000, -Infinity, 4, 5], 2);
  acc.add([999, 3], 1);
  const [a, b] = acc.value();
  assert.ok(Math.abs(a - (1000 + Math.log(1 + Math.exp(-1)))) < 1e-9);
  assert.ok(Math.abs(b - (5 + Math.log(1 + Math.exp(-1) + Math.exp(-2)))) < 1e-9);
});

Deno.test("latentBounds averages ELBO parts and each IWAE-k over batches", async () => {
  const model = new LinearGaussian(3, 2, 0.5, Stream.derive(2, "model"));
  const data = model.sampleData(10, Stream.derive(2, "data"));
  const summary = await latentBounds(model, data, 10, 3, {
    ks: [1, 200],
    batchSize: 4,
    noise: Stream.derive(2, "eval"),
  });
  const x = tf.tensor2d(data, [10, 3]);
  const elbo = mean(await model.elbo(x).elbo.data());
  assert.ok(Math.abs(summary.elbo - elbo) < 1e-5);
  assert.ok(Math.abs(summary.elbo + summary.recon + summary.kl) < 1e-4);
  assert.ok(summary.iwae[200] > summary.elbo);
  assert.ok(summary.iwae[200] <= mean(model.logProb(data)) + 0.05);
  x.dispose();
});

Deno.test("k < 1 or fractional k is a one-line usage error", async () => {
  assert.throws(() => checkK(0), UsageError);
  assert.throws(() => checkK(2.5), /k must be an integer ≥ 1 \(got 2.5\)/);
  const model = new LinearGaussian(3, 2, 0.5, Stream.derive(2, "model"));
  const x = tf.zeros([1, 3]) as tf.Tensor2D;
  await assert.rejects(() => iwaeBound(model, x, -3, Stream.derive(1, "e")), UsageError);
  x.dispose();
});

Deno.test("trained vae-mlp: ELBO ≤ IWAE-10 ≤ IWAE-1000 on the same test images", async () => {
  const model = build(vaeMlp, { learningRate: 3e-3 });
  await train(model, 200);
  const { x } = testBatch(16);
  const noise = Stream.derive(9, "eval");
  const elbo = mean(await model.elbo!(x, noise).elbo.data());
  const iwae10 = mean(await iwaeBound(model, x, 10, noise));
  const iwae1000 = mean(await iwaeBound(model, x, 1000, noise));
  console.log(
    `vae-mlp (synthetic 12×12, 200 steps): ELBO ${elbo.toFixed(3)}, ` +
      `IWAE-10 ${iwae10.toFixed(3)}, IWAE-1000 ${iwae1000.toFixed(3)} nats`,
  );
  assert.ok(elbo < iwae10, `ELBO ${elbo} < IWAE-10 ${iwae10}`);
  assert.ok(iwae10 < iwae1000, `IWAE-10 ${iwae10} < IWAE-1000 ${iwae1000}`);
  model.dispose();
  x.dispose();
});
