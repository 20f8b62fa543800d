import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import { parameterCount } from "../../../models/model.ts";
import { aeSpec, betaVaeSpec, ConvVae, vaeConvSpec } from "../../../models/latent/vae_conv.ts";
import { assertBinarySamples, build, DIMS, meanOf, SHAPE, testBatch, train } from "./_helpers.ts";

await selectBackend("cpu");
const MNIST = { height: 28, width: 28, channels: 1 };

Deno.test("vae-conv has the canonical 370,945 parameters; beta-vae the same; ae one head", () => {
  const counts = [vaeConvSpec, betaVaeSpec, aeSpec].map((spec) => {
    const model = build(spec, {}, 1, MNIST);
    const n = parameterCount(model);
    model.dispose();
    return n;
  });
  assert.deepEqual(counts, [370_945, 370_945, 370_945 - 3136 * 32 - 32]);
});

Deno.test("vae-conv ELBO = −recon − KL, KL in closed form, IWAE-1 averages to the ELBO", async () => {
  const model = build(vaeConvSpec) as ConvVae;
  const { x } = testBatch(16);
  const terms = model.elbo(x, Stream.derive(1, "e"));
  const [elbo, recon, kl] = await Promise.all(
    [terms.elbo, terms.recon, terms.kl].map((t) => t.data()),
  );
  const { mean, logVar } = model.encode(x);
  const [m, lv] = [mean.dataSync(), logVar.dataSync()];
  for (let i = 0; i < 16; i++) {
    assert.ok(Math.abs(elbo[i] + recon[i] + kl[i]) < 1e-3);
    let k = 0;
    for (let j = 0; j < 32; j++) {
      const [a, b] = [m[i * 32 + j], lv[i * 32 + j]];
      k += 0.5 * (a * a + Math.exp(b) - 1 - b);
    }
    assert.ok(Math.abs(k - kl[i]) < 1e-3 * Math.max(1, k));
  }
  // E_q[log w] = ELBO: the mean of 200 log-weights per example is within MC error of it.
  const logW = model.logWeights(x, 200, Stream.derive(1, "w"));
  const avgLogW = await meanOf(tf.mean(logW, 1));
  const avgElbo = Array.from(elbo).reduce((a, b) => a + b, 0) / 16;
  assert.ok(Math.abs(avgLogW - avgElbo) < 1, `${avgLogW} vs ${avgElbo}`);
  // iwae is the log-mean-exp of exactly these log-weights (same draws), hence ≥ their mean.
  const w = await model.logWeights(x, 50, Stream.derive(1, "k")).array();
  const bound = await model.iwae(x, 50, Stream.derive(1, "k")).data();
  for (let i = 0; i < 16; i++) {
    const max = Math.max(...w[i]);
    const lme = max + Math.log(w[i].reduce((a, v) => a + Math.exp(v - max), 0) / 50);
    assert.ok(Math.abs(bound[i] - lme) < 1e-3, `${bound[i]} vs ${lme}`);
    assert.ok(bound[i] >= w[i].reduce((a, b) => a + b, 0) / 50 - 1e-4);
  }
  model.dispose();
  x.dispose();
});

Deno.test("vae-conv trains: test −ELBO falls; beta-vae ends with a smaller KL", async () => {
  const { x } = testBatch(64);
  const results: Record<string, { nelbo: number; kl: number }> = {};
  for (const spec of [vaeConvSpec, betaVaeSpec]) {
    const model = build(spec, { learningRate: 3e-3 });
    const before = -(await meanOf(model.elbo!(x, Stream.derive(2, "e")).elbo));
    await train(model, 60);
    const terms = model.elbo!(x, Stream.derive(2, "e"));
    results[spec.name] = { nelbo: -(await meanOf(terms.elbo)), kl: await meanOf(terms.kl) };
    // Trained, q(z|x) is narrow and the IWAE bound is clearly above the ELBO.
    const iwae = -(await meanOf(model.iwae!(x, 20, Stream.derive(2, "k"))));
    assert.ok(iwae < results[spec.name].nelbo, `${spec.name}: IWAE-20 ${iwae}`);
    assert.ok(
      results[spec.name].nelbo < 0.7 * before,
      `${spec.name}: ${before} → ${results[spec.name].nelbo}`,
    );
    model.dispose();
  }
  assert.ok(results["beta-vae"].kl < results["vae-conv"].kl, JSON.stringify(results));
  x.dispose();
});

Deno.test("same seed, same losses (cpu)", async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const model = build(vaeConvSpec);
    runs.push(await train(model, 3));
    model.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
});

Deno.test("ae reconstructs but cannot sample; its encoder has no variance", async () => {
  const model = build(aeSpec, { learningRate: 3e-3 });
  const { x } = testBatch(32);
  const first = await train(model, 1);
  const last = await train(model, 40, 32, 2);
  assert.ok(last.recon < 0.7 * first.recon, `${first.recon} → ${last.recon}`);
  const code = model.encode!(x);
  assert.equal(code.logVar, undefined);
  assert.deepEqual(code.mean.shape, [32, 32]);
  assert.deepEqual(model.decode!(code.mean).shape, [32, DIMS]);
  await assert.rejects(() => model.sample!(4, Stream.derive(1, "s")), UsageError);
  model.dispose();
  x.dispose();
});

Deno.test("samples are 0/1 of the right size", async () => {
  const model = build(vaeConvSpec);
  await assertBinarySamples(model, 5);
  model.dispose();
});

Deno.test("bad options are one-line usage errors", () => {
  const cases: [typeof vaeConvSpec, Record<string, number>, RegExp, typeof SHAPE?][] = [
    [betaVaeSpec, { beta: -1 }, /beta-vae: option beta: expected a number ≥ 0 \(got -1\)/],
    [vaeConvSpec, { latent: 0 }, /vae-conv: option latent: expected an integer ≥ 1 \(got 0\)/],
    [vaeConvSpec, { latent: 577 }, /vae-conv: option latent: expected an integer ≤ 576 for 12×12/],
    [aeSpec, { latent: 2.5 }, /ae: option latent: expected an integer ≥ 1 \(got 2.5\)/],
    [vaeConvSpec, {}, /image size 30×30 does not fit the architecture/, {
      height: 30,
      width: 30,
      channels: 1,
    }],
  ];
  for (const [spec, options, message, shape] of cases) {
    assert.throws(() => build(spec, options, 1, shape ?? SHAPE), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
