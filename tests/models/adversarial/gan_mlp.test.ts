import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import { ganMlp } from "../../../models/adversarial/gan_mlp.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");
const SHAPE = { height: 4, width: 4, channels: 1 };

Deno.test("gan-mlp returns its training diagnostics under both losses", async () => {
  const x = tf.tensor2d(Stream.derive(1, "x").uniformArray(8 * 16), [8, 16]);
  const norms: Record<string, number> = {};
  for (const loss of ["non-saturating", "minimax"]) {
    const gan = ganMlp.create({
      shape: SHAPE,
      options: { ...defaultOptions(ganMlp.options), latent: 4, loss },
      init: Stream.derive(1, "init"),
    });
    const out = gan.trainStep(x, Stream.derive(1, "t"));
    assert.deepEqual(
      Object.keys(out).sort(),
      ["d_fake", "d_grad_norm", "d_loss", "d_real", "g_grad_norm", "g_loss"],
    );
    const v = Object.fromEntries(
      await Promise.all(Object.entries(out).map(async ([k, s]) => [k, (await s.data())[0]])),
    );
    for (const [k, value] of Object.entries(v)) assert.ok(Number.isFinite(value), `${loss} ${k}`);
    assert.ok(v.d_real > 0 && v.d_real < 1 && v.d_fake > 0 && v.d_fake < 1);
    // The two G losses are −log D and log(1 − D) of the same D(G(z)) at the first step.
    if (loss === "minimax") assert.ok(v.g_loss < 0);
    else assert.ok(v.g_loss > 0);
    norms[loss] = v.g_grad_norm;
    tf.dispose(Object.values(out));
    // generator() is the sampler's map from z.
    const decoder = gan.generator!(Stream.derive(2, "unused"));
    const noise = Stream.derive(3, "s");
    const samples = await gan.sample!(2, Stream.derive(3, "s"));
    const z = tf.tensor2d(noise.normalArray(2 * 4), [2, 4]);
    assert.deepEqual(Array.from(samples), Array.from(await decoder.decode(z).data()));
    z.dispose();
    decoder.dispose();
    gan.dispose();
  }
  // With D(G(z)) ≈ ½ at initialisation the gradients differ only by a factor near 1.
  assert.ok(norms.minimax > 0 && norms["non-saturating"] > 0);
  x.dispose();
});
