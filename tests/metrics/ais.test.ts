import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import {
  aisLogProb,
  type AisOptions,
  aisOverImages,
  aisSchedule,
  reverseAisLogProb,
  simulate,
} from "../../metrics/ais.ts";

await selectBackend("cpu");

/** log N(x; b, WWᵀ + σ²I) in float64 (Cholesky), the exact marginal of the linear decoder. */
function exactLogProb(w: number[][], b: number[], sigma: number, x: number[]): number {
  const d = b.length;
  const c = Array.from(
    { length: d },
    (_, i) =>
      Array.from(
        { length: d },
        (_, j) => w[i].reduce((s, wik, k) => s + wik * w[j][k], 0) + (i === j ? sigma * sigma : 0),
      ),
  );
  const l = c.map(() => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = c[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(s) : s / l[j][j];
    }
  }
  // Solve L y = x − b; log N = −½‖y‖² − Σ log Lᵢᵢ − (d/2) log 2π.
  const y = new Array<number>(d).fill(0);
  for (let i = 0; i < d; i++) {
    let s = x[i] - b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const logDet = l.reduce((s, row, i) => s + Math.log(row[i]), 0);
  return -0.5 * y.reduce((s, v) => s + v * v, 0) - logDet - (d / 2) * Math.log(2 * Math.PI);
}

Deno.test("AIS schedule runs from 0 to 1, increasing", () => {
  for (const kind of ["sigmoid", "linear"] as const) {
    const betas = aisSchedule(50, kind);
    assert.equal(betas[0], 0);
    assert.equal(betas[50], 1);
    for (let t = 1; t <= 50; t++) assert.ok(betas[t] > betas[t - 1]);
  }
});

/** A random linear-Gaussian decoder g(z) = Wz + b with data simulated from it. */
async function linearCase() {
  const dim = 12;
  const latent = 3;
  const sigma = 0.2;
  const count = 16;
  const init = Stream.derive(7, "weights");
  const w = Array.from({ length: dim }, () => Array.from({ length: latent }, () => init.normal()));
  const b = Array.from({ length: dim }, () => 0.5 * init.normal());
  const wT = tf.tensor2d(w.flat(), [dim, latent]).transpose();
  const bias = tf.tensor1d(b);
  const decode = (z: tf.Tensor2D) => tf.add(tf.matMul(z, wT), bias) as tf.Tensor2D;
  const { x, z } = simulate(decode, latent, sigma, count, Stream.derive(7, "data"));
  const exact = ((await x.array()) as number[][]).map((row) => exactLogProb(w, b, sigma, row));
  const dispose = () => tf.dispose([wT, bias, x, z]);
  return { decode, x, z, latent, sigma, exact, dispose };
}

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, a) => s + a, 0) / v.length;

/** Forward and reverse (BDMC) runs with one schedule; gaps to the exact log p(x) per example. */
async function bdmc(options: Partial<AisOptions>) {
  const c = await linearCase();
  const { decode, x, sigma } = c;
  const forward = await aisLogProb(decode, x, c.latent, sigma, Stream.derive(7, "ais"), options);
  const steps = forward.logStepSizes;
  const backward = Stream.derive(7, "bdmc");
  const reverse = await reverseAisLogProb(decode, x, c.z, sigma, backward, options, steps);
  const lower = Array.from(forward.logProb, (v, i) => v - c.exact[i]);
  const upper = Array.from(reverse.logProb, (v, i) => v - c.exact[i]);
  console.log(
    `${JSON.stringify(options)}: exact mean ${mean(c.exact).toFixed(3)}; AIS − exact ` +
      `${mean(lower).toFixed(3)} (max |${Math.max(...lower.map(Math.abs)).toFixed(2)}|, ` +
      `acceptance ${forward.acceptance.toFixed(2)}); reverse − exact ${mean(upper).toFixed(3)}`,
  );
  c.dispose();
  return { lower, upper };
}

Deno.test("AIS with the default schedule is within 0.5 nats of the exact linear-Gaussian log p(x)", async () => {
  const { lower, upper } = await bdmc({});
  assert.ok(Math.abs(mean(lower)) < 0.5);
  assert.ok(lower.every((gap) => Math.abs(gap) < 1), "every example within 1 nat");
  assert.ok(mean(lower) < 0, "forward AIS is a stochastic lower bound");
  assert.ok(mean(upper) > 0, "reverse AIS is a stochastic upper bound");
});

Deno.test("a short schedule: forward and reverse AIS bracket the truth, more widely", async () => {
  const { lower, upper } = await bdmc({ steps: 100 });
  assert.ok(mean(lower) < -0.1, "forward below the truth");
  assert.ok(mean(upper) > 0.1, "reverse above the truth");
});

Deno.test("aisOverImages chunks images and conditions each chain on its image's label", async () => {
  // g(z, y) = Wz + b + 3·onehot(y) in 4 dimensions: the label moves the mean far, so a label
  // given to the wrong chain would be off by many nats.
  const dim = 4;
  const latent = 2;
  const sigma = 0.5;
  const init = Stream.derive(9, "w");
  const w = Array.from({ length: dim }, () => Array.from({ length: latent }, () => init.normal()));
  const b = Array.from({ length: dim }, () => init.normal());
  const wT = tf.tensor2d(w.flat(), [dim, latent]).transpose();
  const decoder = {
    latent,
    decode: (z: tf.Tensor2D, y?: tf.Tensor1D) =>
      tf.tidy(() =>
        tf.add(
          tf.add(tf.matMul(z, wT), tf.tensor1d(b)),
          tf.mul(tf.oneHot(y!, dim).toFloat(), 3),
        ) as tf.Tensor2D
      ),
  };
  const labels = new Int32Array([0, 3, 1, 1, 2]);
  const data = Stream.derive(9, "x");
  const images = new Float32Array(labels.length * dim);
  const exact: number[] = [];
  labels.forEach((y, j) => {
    const mean = b.map((bi, i) => bi + (i === y ? 3 : 0));
    const z = [data.normal(), data.normal()];
    const x = mean.map((m, i) => m + w[i][0] * z[0] + w[i][1] * z[1] + sigma * data.normal());
    images.set(x, j * dim);
    exact.push(exactLogProb(w, mean, sigma, x));
  });
  const got = await aisOverImages(
    decoder,
    images,
    labels.length,
    dim,
    sigma,
    Stream.derive(9, "ais"),
    { steps: 300, chains: 16 },
    labels,
    2,
  );
  console.log(`AIS − exact: ${Array.from(got, (v, j) => (v - exact[j]).toFixed(3)).join(" ")}`);
  got.forEach((v, j) => assert.ok(Math.abs(v - exact[j]) < 0.5, `image ${j}: ${v} vs ${exact[j]}`));
  wT.dispose();
});
