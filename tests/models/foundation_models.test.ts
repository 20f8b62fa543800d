import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { bernoulli } from "../../models/autoregressive/bernoulli.ts";
import { vaeMlp } from "../../models/latent/vae_mlp.ts";
import { ganMlp } from "../../models/adversarial/gan_mlp.ts";
import { type ModelSpec, parameterCount } from "../../models/model.ts";
import { loadWeights, saveWeights } from "../../core/checkpoint.ts";
import { defaultOptions } from "../../models/options.ts";

await selectBackend("cpu");
const MNIST = { height: 28, width: 28, channels: 1 };

function build(spec: ModelSpec, shape = MNIST, options = {}, seed = 1) {
  return spec.create({
    shape,
    options: { ...defaultOptions(spec.options), ...options },
    init: Stream.derive(seed, "init"),
  });
}

Deno.test("canonical parameter counts", () => {
  for (
    const [spec, expected] of [[bernoulli, 784], [vaeMlp, 425_284], [ganMlp, 1_093_137]] as const
  ) {
    const model = build(spec);
    assert.equal(parameterCount(model), expected, spec.name);
    model.dispose();
  }
});

Deno.test("bernoulli log p(x) equals the hand computation", async () => {
  const shape = { height: 1, width: 3, channels: 1 };
  const model = build(bernoulli, shape);
  // Set the logits to log-odds of p = (0.2, 0.5, 0.9).
  const p = [0.2, 0.5, 0.9];
  model.weights().get("logits")!.assign(tf.tensor1d(p.map((q) => Math.log(q / (1 - q)))));
  const x = tf.tensor2d([[1, 0, 1], [0, 0, 0]]);
  const logp = Array.from(await model.logProb!(x).data());
  assert.ok(Math.abs(logp[0] - Math.log(0.2 * 0.5 * 0.9)) < 1e-5);
  assert.ok(Math.abs(logp[1] - Math.log(0.8 * 0.5 * 0.1)) < 1e-5);
  // Normalised: the 8 configurations sum to 1.
  const all = tf.tensor2d(Array.from({ length: 8 }, (_, i) => [i & 1, (i >> 1) & 1, (i >> 2) & 1]));
  const total = Array.from(await model.logProb!(all).data()).reduce((s, v) => s + Math.exp(v), 0);
  assert.ok(Math.abs(total - 1) < 1e-6);
  model.dispose();
});

Deno.test("bernoulli training converges to the pixel means (the MLE)", async () => {
  const shape = { height: 1, width: 2, channels: 1 };
  const model = build(bernoulli, shape, { learningRate: 0.05 });
  const x = tf.tensor2d([[1, 0], [1, 1], [1, 0], [0, 0]]); // means 0.75, 0.25
  for (let i = 0; i < 600; i++) {
    tf.dispose(Object.values(model.trainStep(x, Stream.derive(1, "t"))));
  }
  const probs = await tf.sigmoid(model.weights().get("logits")!).data();
  assert.ok(Math.abs(probs[0] - 0.75) < 0.01 && Math.abs(probs[1] - 0.25) < 0.01, `${probs}`);
  model.dispose();
});

/** log p(x) of a 1-latent vae-mlp by quadrature, from its raw weights, in float64. */
async function exactLogLikelihood(
  weights: Map<string, tf.Variable>,
  x: number[],
): Promise<number> {
  const w = async (name: string) => Array.from(await weights.get(name)!.data());
  const [k1, b1, k2, b2, k3, b3] = await Promise.all(
    [
      "dec/h1/kernel",
      "dec/h1/bias",
      "dec/h2/kernel",
      "dec/h2/bias",
      "dec/logits/kernel",
      "dec/logits/bias",
    ]
      .map(w),
  );
  const hidden = b1.length;
  const dense = (input: number[], kernel: number[], bias: number[], act: (v: number) => number) =>
    bias.map((b, j) => act(input.reduce((s, v, i) => s + v * kernel[i * bias.length + j], b)));
  const terms: number[] = [];
  const step = 0.002;
  for (let z = -9; z <= 9; z += step) {
    const h1 = dense([z], k1, b1, Math.tanh);
    const h2 = dense(h1, k2, b2.slice(0, hidden), Math.tanh);
    const logits = dense(h2, k3, b3, (v) => v);
    const logPxz = logits.reduce((s, a, i) => s + x[i] * a - Math.log1p(Math.exp(a)), 0);
    terms.push(logPxz - 0.5 * z * z - 0.5 * Math.log(2 * Math.PI) + Math.log(step));
  }
  const max = Math.max(...terms);
  return max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
}

Deno.test("vae-mlp: ELBO ≤ exact log p(x) ≤≈ IWAE-5000 on a 1-D latent model", async () => {
  const shape = { height: 2, width: 3, channels: 1 };
  const model = build(vaeMlp, shape, { hidden: 8, latent: 1, learningRate: 0.01 }, 4);
  const data = tf.tensor2d([[1, 1, 0, 0, 1, 0], [0, 1, 1, 0, 0, 1], [1, 0, 0, 1, 1, 1]]);
  const noise = Stream.derive(4, "train");
  for (let i = 0; i < 150; i++) tf.dispose(Object.values(model.trainStep(data, noise)));
  const rows = await data.array();
  const evalNoise = Stream.derive(4, "eval");
  for (let r = 0; r < rows.length; r++) {
    const x = tf.tensor2d([rows[r]]);
    const exact = await exactLogLikelihood(model.weights(), rows[r]);
    // The ELBO's expectation, over 4,000 posterior samples.
    const xs = tf.tile(x, [4000, 1]) as tf.Tensor2D;
    const terms = model.elbo!(xs, evalNoise);
    const elbos = Array.from(await terms.elbo.data());
    const mean = elbos.reduce((s, v) => s + v, 0) / elbos.length;
    const sd = Math.sqrt(elbos.reduce((s, v) => s + (v - mean) ** 2, 0) / elbos.length);
    assert.ok(mean <= exact + 3 * sd / Math.sqrt(elbos.length), `ELBO ${mean} > log p ${exact}`);
    const iwae = (await model.iwae!(x, 5000, evalNoise).data())[0];
    assert.ok(Math.abs(iwae - exact) < 0.05, `IWAE-5000 ${iwae} vs exact ${exact}`);
    assert.ok(iwae >= mean, `IWAE ${iwae} below mean ELBO ${mean}`);
    tf.dispose([x, xs, terms.elbo, terms.kl, terms.recon, terms.mean]);
  }
  model.dispose();
});

Deno.test("training lowers the losses of vae-mlp and changes the GAN", async () => {
  const shape = { height: 2, width: 2, channels: 1 };
  const x = tf.tensor2d([[1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0]]);
  const vae = build(vaeMlp, shape, { hidden: 16, latent: 2, learningRate: 0.01 });
  const noise = Stream.derive(2, "train");
  const first = (await vae.trainStep(x, noise).neg_elbo.data())[0];
  for (let i = 0; i < 200; i++) tf.dispose(Object.values(vae.trainStep(x, noise)));
  const last = (await vae.trainStep(x, noise).neg_elbo.data())[0];
  assert.ok(last < first - 0.5, `−ELBO ${first} → ${last}`);
  vae.dispose();

  for (const loss of ["non-saturating", "minimax"]) {
    const gan = build(ganMlp, shape, { loss });
    const before = await gan.sample!(4, Stream.derive(1, "s"));
    for (let i = 0; i < 5; i++) tf.dispose(Object.values(gan.trainStep(x, noise)));
    const after = await gan.sample!(4, Stream.derive(1, "s"));
    assert.notDeepEqual(before, after);
    assert.ok(after.every((v) => v >= 0 && v <= 1));
    gan.dispose();
  }
  assert.throws(
    () => build(ganMlp, shape, { loss: "hinge" }),
    /gan-mlp: option loss: expected one of non-saturating, minimax \(got "hinge"\)/,
  );
});

Deno.test("weights survive a checkpoint round trip; mismatches are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.bin`;
  const a = build(vaeMlp, { height: 2, width: 2, channels: 1 }, { hidden: 4, latent: 2 }, 1);
  const b = build(vaeMlp, { height: 2, width: 2, channels: 1 }, { hidden: 4, latent: 2 }, 2);
  await saveWeights(path, a.weights());
  await loadWeights(path, b.weights());
  for (const [name, tensor] of a.weights()) {
    assert.deepEqual(await b.weights().get(name)!.data(), await tensor.data(), name);
  }
  const c = build(vaeMlp, { height: 2, width: 2, channels: 1 }, { hidden: 5, latent: 2 }, 1);
  await assert.rejects(
    loadWeights(path, c.weights()),
    /"enc\/h1\/kernel" has shape \[4,4\] in the checkpoint, the model expects \[4,5\]/,
  );
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 8));
  await assert.rejects(loadWeights(path, b.weights()), /truncated checkpoint data/);
  for (const m of [a, b, c]) m.dispose();
  await Deno.remove(dir, { recursive: true });
});
