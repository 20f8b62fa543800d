import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import { hasCodes, infogan } from "../../../models/adversarial/infogan.ts";
import { parameterCount } from "../../../models/model.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");
const TINY = { height: 8, width: 8, channels: 1 };

function build(shape = TINY, options = {}) {
  return infogan.create({
    shape,
    options: {
      ...defaultOptions(infogan.options),
      width: 4,
      noise: 6,
      bnReference: 32,
      ...options,
    },
    init: Stream.derive(1, "init"),
  });
}

Deno.test("infogan's parameter count: the DCGAN with 74 generator inputs plus the Q head", () => {
  const model = build({ height: 28, width: 28, channels: 1 }, { width: 64, noise: 62 });
  // G 615,233 (dense 74·6272 + 6272) + D 138,817 + Q (6272·128 + 128, BN 256, 128·12 + 12).
  assert.equal(parameterCount(model), 615_233 + 138_817 + 802_944 + 256 + 1_548);
  model.dispose();
});

Deno.test("infogan trains: finite losses, mutual-information term, samples in [0, 1]", async () => {
  const model = build();
  const x = tf.tensor2d(Stream.derive(5, "x").uniformArray(8 * 64), [8, 64]);
  const noise = Stream.derive(1, "train");
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < 6; i++) {
    const out = model.trainStep(x, noise);
    for (const key of ["d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"]) {
      assert.ok(key in out, key);
    }
    for (const [name, scalar] of Object.entries(out)) {
      assert.ok(Number.isFinite((await scalar.data())[0]), name);
    }
    const ce = (await out.info_cat.data())[0];
    const mi = (await out.mi_cat.data())[0];
    assert.ok(Math.abs(mi - (Math.log(10) - ce)) < 1e-5);
    if (i === 0) first = ce;
    last = ce;
    tf.dispose(Object.values(out));
  }
  assert.ok(last < first, `Q learns the categorical code (${first} → ${last})`);
  const samples = await model.sample!(5, Stream.derive(1, "s"));
  assert.ok(samples.every((v) => v >= 0 && v <= 1));
  x.dispose();
  model.dispose();
});

Deno.test("infogan's codes drive its generator; its latent prior is N(0, I)", async () => {
  const model = build();
  assert.ok(hasCodes(model));
  const codes = model.codeDecoder(Stream.derive(2, "ref"));
  const z = tf.tensor2d(Stream.derive(2, "z").normalArray(2 * 6), [2, 6]);
  const cont = tf.zeros([2, 2]) as tf.Tensor2D;
  const a = await codes.decode(z, tf.tensor1d([0, 0], "int32"), cont).data();
  const b = await codes.decode(z, tf.tensor1d([3, 3], "int32"), cont).data();
  assert.notDeepEqual(a, b);
  codes.dispose();
  const decoder = model.generator!(Stream.derive(2, "ref"));
  assert.equal(decoder.latent, 6 + 2);
  // ε = 0 in the continuous part is the code 0 (erf(0) = 0).
  const viaPrior = await decoder.decode(
    tf.concat([z, tf.zeros([2, 2])], 1) as tf.Tensor2D,
    tf.tensor1d([0, 0], "int32"),
  ).data();
  Array.from(viaPrior).forEach((v, i) => assert.ok(Math.abs(v - a[i]) < 1e-6));
  decoder.dispose();
  tf.dispose([z, cont]);
  model.dispose();
});
