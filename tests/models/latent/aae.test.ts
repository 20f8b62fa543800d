import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { type Aae, aaeSpec } from "../../../models/latent/aae.ts";
import { assertBinarySamples, build, testBatch, train } from "./_helpers.ts";

await selectBackend("cpu");

/** Mean |mean| and |std − 1| of the codes over the dims: distance of q(z)'s moments to N(0, I). */
async function momentGap(model: Aae, x: tf.Tensor2D): Promise<number> {
  const { mean: codes } = model.encode(x);
  const { mean, variance } = tf.moments(codes, 0);
  const m = await mean.data();
  const v = await variance.data();
  let gap = 0;
  for (let j = 0; j < m.length; j++) gap += Math.abs(m[j]) + Math.abs(Math.sqrt(v[j]) - 1);
  for (const t of [codes, mean, variance]) t.dispose();
  return gap / m.length;
}

Deno.test("aae: reconstruction improves and the discriminator pulls q(z) towards N(0, I)", async () => {
  const { x } = testBatch(128);
  const gaps: number[] = [];
  const recons: number[] = [];
  for (const weight of [1, 0]) {
    const model = build(aaeSpec, { adversarialWeight: weight, learningRate: 2e-3 }) as Aae;
    const first = await train(model, 1);
    const last = await train(model, 50, 32, 2);
    assert.ok(last.recon < 0.8 * first.recon, `recon ${first.recon} → ${last.recon}`);
    assert.ok(Number.isFinite(last.d_loss) && Number.isFinite(last.g_loss));
    gaps.push(await momentGap(model, x));
    recons.push(last.recon);
    model.dispose();
  }
  // Without the adversarial term nothing ties the codes to the prior.
  assert.ok(gaps[0] < gaps[1], `moment gap with adversary ${gaps[0]}, without ${gaps[1]}`);
  x.dispose();
});

Deno.test("aae samples decode prior draws into 0/1 images; it claims no likelihood", async () => {
  const model = build(aaeSpec);
  await assertBinarySamples(model, 6);
  assert.ok(!aaeSpec.capabilities.includes("elbo"));
  assert.equal(model.iwae, undefined);
  model.dispose();
});
