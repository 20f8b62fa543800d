import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { selectBackend } from "../../../core/backend.ts";
import { UsageError } from "../../../core/errors.ts";
import { type Ddpm, ddpmSpec } from "../../../models/latent/ddpm.ts";
import { inputKindOf } from "../../../models/model.ts";
import {
  at,
  decoderLogLikelihood,
  decoderMean,
  diffusionTerm,
  forwardSample,
  linearSchedule,
  logNormalCdf,
  type NoisePredictor,
  posterior,
  type ReverseVariance,
  reverseVariance,
  type Schedule,
  variationalBound,
} from "../../../models/latent/diffusion.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");

/** Φ(z) in float64 from the complementary error function's continued fraction / series. */
function normalCdf(z: number): number {
  // Abramowitz–Stegun 26.2.17 is too coarse in the tails; integrate the density instead.
  if (z < -12) return 0;
  const steps = 2000;
  const lo = -12;
  const h = (z - lo) / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const x = lo + i * h;
    const w = i === 0 || i === steps ? 1 : i % 2 ? 4 : 2;
    sum += w * Math.exp(-x * x / 2);
  }
  return sum * h / 3 / Math.sqrt(2 * Math.PI);
}

const logNormal = (x: number, mean: number, variance: number) =>
  -0.5 * (Math.log(2 * Math.PI * variance) + (x - mean) ** 2 / variance);

Deno.test("diffusion: log Φ matches a float64 quadrature from z = −30 to 8", () => {
  const zs = [-30, -20, -9, -5, -2, -0.5, 0, 0.5, 2, 5, 8];
  const values = logNormalCdf(tf.tensor1d(zs)).dataSync();
  zs.forEach((z, i) => {
    // Below −12 the quadrature has nothing left: compare with the asymptotic series instead.
    const expected = z < -8
      ? logNormal(z, 0, 1) - Math.log(-z) + Math.log(1 - 1 / z ** 2 + 3 / z ** 4)
      : Math.log(normalCdf(z));
    const tolerance = z > 3 ? 1e-7 : 2e-6 * Math.max(1, Math.abs(expected));
    assert.ok(Math.abs(values[i] - expected) < tolerance, `z=${z}: ${values[i]} vs ${expected}`);
  });
});

Deno.test("diffusion: the 256-level decoder is a distribution; its mean is Σ k·P(k)", () => {
  const levels = 256;
  const sigma = 0.01;
  const centres = [-1.2, -1, -0.9993, -0.5, 0, 0.31, 0.999, 1, 1.3];
  const grid = Array.from({ length: levels }, (_, k) => -1 + 2 * k / (levels - 1));
  // Every level for every centre: [levels, centres].
  const x0 = tf.tensor2d(grid.flatMap((y) => centres.map(() => y)), [levels * centres.length, 1]);
  const mean = tf.tensor2d(grid.flatMap(() => centres), [levels * centres.length, 1]);
  const logp = decoderLogLikelihood(x0, mean, sigma, levels).dataSync();
  const means = decoderMean(tf.tensor2d(centres, [centres.length, 1]), sigma, levels).dataSync();
  centres.forEach((centre, c) => {
    let total = 0;
    let expected = 0;
    for (let k = 0; k < levels; k++) {
      const p = Math.exp(logp[k * centres.length + c]);
      total += p;
      expected += k * p;
      // Against float64: the Gaussian's mass on the bin, by quadrature of Φ.
      const a = k === 0 ? -Infinity : (grid[k] - 1 / 255 - centre) / sigma;
      const b = k === levels - 1 ? Infinity : (grid[k] + 1 / 255 - centre) / sigma;
      const mass = (b === Infinity ? 1 : normalCdf(b)) - (a === -Infinity ? 0 : normalCdf(a));
      if (mass > 1e-6) assert.ok(Math.abs(p - mass) < 1e-5 + 1e-4 * mass, `μ=${centre} k=${k}`);
    }
    assert.ok(Math.abs(total - 1) < 1e-5, `μ=${centre}: Σ p = ${total}`);
    assert.ok(Math.abs(means[c] - expected) < 2e-3, `μ=${centre}: mean ${means[c]} vs ${expected}`);
  });
  tf.dispose([x0, mean]);
});

Deno.test("diffusion: q(x_t|x_0) matches the step-by-step chain (moments, by simulation)", () => {
  const schedule = linearSchedule(50, 1e-3, 0.2);
  // Exact: composing x_t = √(1 − β_t) x_{t−1} + √β_t z gives mean √ᾱ_t x_0, variance 1 − ᾱ_t.
  let scale = 1;
  let variance = 0;
  for (let t = 1; t <= schedule.steps; t++) {
    const { beta, alphaBar } = at(schedule, t);
    scale *= Math.sqrt(1 - beta);
    variance = (1 - beta) * variance + beta;
    assert.ok(Math.abs(scale - Math.sqrt(alphaBar)) < 1e-12, `t=${t} mean`);
    assert.ok(Math.abs(variance - (1 - alphaBar)) < 1e-12, `t=${t} variance`);
  }
  // Simulated chains against forwardSample's draws at t = 1, 5, 20, 50.
  const n = 20000;
  const stream = Stream.derive(1, "chain");
  const x0 = 0.7;
  const chains = new Float64Array(n).fill(x0);
  const eps = tf.tensor1d(Stream.derive(2, "eps").normalArray(n));
  for (let t = 1; t <= schedule.steps; t++) {
    const { beta } = at(schedule, t);
    for (let i = 0; i < n; i++) {
      chains[i] = Math.sqrt(1 - beta) * chains[i] + Math.sqrt(beta) * stream.normal();
    }
    if (![1, 5, 20, 50].includes(t)) continue;
    const direct = Array.from(forwardSample(schedule, tf.fill([n], x0), t, eps).dataSync());
    for (const values of [Array.from(chains), direct]) {
      const mean = values.reduce((a, b) => a + b, 0) / n;
      const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
      const { alphaBar } = at(schedule, t);
      const se = Math.sqrt((1 - alphaBar) / n);
      assert.ok(Math.abs(mean - Math.sqrt(alphaBar) * x0) < 4 * se, `t=${t} mean ${mean}`);
      assert.ok(Math.abs(v / (1 - alphaBar) - 1) < 4 * Math.sqrt(2 / n), `t=${t} var ${v}`);
    }
  }
  eps.dispose();
});

Deno.test("diffusion: q(x_{t−1}|x_t, x_0) is Bayes' rule on the two Gaussians", () => {
  const schedule = linearSchedule(30, 1e-3, 0.3);
  for (const t of [2, 3, 10, 30]) {
    const { beta, alphaBarPrev } = at(schedule, t);
    // p(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}); p(x_t|x_{t−1}) = N(√α_t x_{t−1}, β_t).
    const precision = 1 / (1 - alphaBarPrev) + (1 - beta) / beta;
    const { c0, ct, variance } = posterior(schedule, t);
    assert.ok(Math.abs(variance - 1 / precision) < 1e-12, `t=${t} variance`);
    assert.ok(Math.abs(c0 - Math.sqrt(alphaBarPrev) / (1 - alphaBarPrev) / precision) < 1e-12);
    assert.ok(Math.abs(ct - Math.sqrt(1 - beta) / beta / precision) < 1e-12);
  }
});

/**
 * A linear noise predictor ε̂ = a_t·x + b_t (per t): every reverse step is then linear-Gaussian,
 * so the model's own p(x_0 = ±1) has a closed form, and the bound can be checked against it.
 */
function linearPredictor(a: number[], b: number[]): NoisePredictor {
  const at1 = tf.tensor1d([0, ...a]);
  const bt1 = tf.tensor1d([0, ...b]);
  return (xt, t) =>
    tf.tidy(() => {
      const index = tf.cast(t, "int32");
      const slope = tf.reshape(tf.gather(at1, index), [-1, 1]);
      const offset = tf.reshape(tf.gather(bt1, index), [-1, 1]);
      return tf.add(tf.mul(xt, slope), offset) as tf.Tensor2D;
    });
}

/** The reverse chain's marginal P(x_0 = +1) for the linear predictor (one pixel), in float64. */
function exactProbabilityOfOne(
  schedule: Schedule,
  a: number[],
  b: number[],
  variance: ReverseVariance,
): number {
  let mean = 0;
  let v = 1;
  const affine = (t: number) => {
    const { beta, alphaBar } = at(schedule, t);
    const k = beta / Math.sqrt(1 - alphaBar);
    return [(1 - k * a[t - 1]) / Math.sqrt(1 - beta), -k * b[t - 1] / Math.sqrt(1 - beta)];
  };
  for (let t = schedule.steps; t >= 2; t--) {
    const [A, B] = affine(t);
    mean = A * mean + B;
    v = A * A * v + reverseVariance(schedule, t, variance);
  }
  const [A, B] = affine(1);
  const sigma2 = at(schedule, 1).beta;
  return normalCdf((A * mean + B) / Math.sqrt(sigma2 + A * A * v));
}

/** The bound's mean over `n` draws for one pixel x_0 = ±1, with its standard error. */
function meanBound(
  schedule: Schedule,
  predict: NoisePredictor,
  x0: number,
  n: number,
  variance: ReverseVariance,
): { mean: number; se: number } {
  const x = tf.fill([n, 1], x0) as tf.Tensor2D;
  const terms = variationalBound(schedule, predict, x, Stream.derive(4, "bound"), variance);
  const total = tf.tidy(() => tf.add(tf.add(terms.prior, terms.diffusion), terms.decoder));
  const values = Array.from(total.dataSync());
  tf.dispose([x, total, terms.prior, terms.diffusion, terms.decoder, terms.mean]);
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { mean, se: sd / Math.sqrt(n) };
}

Deno.test("diffusion: the bound is ≥ the exact NLL, and tight once the reverse process is exact", () => {
  const schedule = linearSchedule(40, 1e-3, 0.3);
  const T = schedule.steps;
  const stream = Stream.derive(3, "coefficients");
  const a = Array.from({ length: T }, () => 0.5 + stream.normal() * 0.3);
  const b = Array.from({ length: T }, () => stream.normal() * 0.3);
  for (const variance of ["beta", "posterior"] as const) {
    const p1 = exactProbabilityOfOne(schedule, a, b, variance);
    for (const x0 of [1, -1]) {
      const nll = -Math.log(x0 === 1 ? p1 : 1 - p1);
      const { mean, se } = meanBound(schedule, linearPredictor(a, b), x0, 4000, variance);
      assert.ok(mean > nll + 0.05, `${variance} x0=${x0}: bound ${mean} ± ${se} vs NLL ${nll}`);
    }
  }
  // The exact reverse process for data x_0 = +1: ε̂ = (x_t − √ᾱ_t)/√(1 − ᾱ_t), so with the
  // posterior variance every L_{t−1} is zero and only L_T and L_0's Jensen gap remain.
  const exactA = Array.from(
    { length: T },
    (_, i) => 1 / Math.sqrt(1 - at(schedule, i + 1).alphaBar),
  );
  const exactB = Array.from(
    { length: T },
    (_, i) => -Math.sqrt(at(schedule, i + 1).alphaBar / (1 - at(schedule, i + 1).alphaBar)),
  );
  const p1 = exactProbabilityOfOne(schedule, exactA, exactB, "posterior");
  const nll = -Math.log(p1);
  const { mean, se } = meanBound(schedule, linearPredictor(exactA, exactB), 1, 4000, "posterior");
  assert.ok(mean >= nll - 3 * se, `exact: bound ${mean} ± ${se} below NLL ${nll}`);
  assert.ok(mean - nll < 1e-3, `exact: bound ${mean} vs NLL ${nll}`);
});

Deno.test("diffusion: the bound's terms agree with a direct Monte Carlo over whole trajectories", () => {
  // E_q[log q(x_{1:T}|x_0) − log p(x_{0:T})], simulated forward step by step in float64, with
  // the reverse densities written out by hand: independent of diffusion.ts's closed forms.
  const schedule = linearSchedule(8, 0.05, 0.5);
  const T = schedule.steps;
  const stream = Stream.derive(5, "coefficients");
  const a = Array.from({ length: T }, () => 0.5 + stream.normal() * 0.3);
  const b = Array.from({ length: T }, () => stream.normal() * 0.3);
  const variance: ReverseVariance = "beta";
  const n = 40000;
  for (const x0 of [1, -1]) {
    const noise = Stream.derive(6, "trajectories");
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const xs = [x0];
      let logQ = 0;
      for (let t = 1; t <= T; t++) {
        const { beta } = at(schedule, t);
        const next = Math.sqrt(1 - beta) * xs[t - 1] + Math.sqrt(beta) * noise.normal();
        logQ += logNormal(next, Math.sqrt(1 - beta) * xs[t - 1], beta);
        xs.push(next);
      }
      let logP = logNormal(xs[T], 0, 1);
      for (let t = T; t >= 1; t--) {
        const { beta, alphaBar } = at(schedule, t);
        const epsHat = a[t - 1] * xs[t] + b[t - 1];
        const mean = (xs[t] - beta / Math.sqrt(1 - alphaBar) * epsHat) / Math.sqrt(1 - beta);
        logP += t > 1
          ? logNormal(xs[t - 1], mean, reverseVariance(schedule, t, variance))
          : Math.log(normalCdf(x0 * mean / Math.sqrt(beta)));
      }
      const value = logQ - logP;
      sum += value;
      sumSq += value * value;
    }
    const direct = sum / n;
    const directSe = Math.sqrt((sumSq / n - direct * direct) / n);
    const { mean, se } = meanBound(schedule, linearPredictor(a, b), x0, n, variance);
    const tolerance = 4 * Math.hypot(se, directSe);
    assert.ok(
      Math.abs(mean - direct) < tolerance,
      `x0=${x0}: terms ${mean} ± ${se}, trajectories ${direct} ± ${directSe}`,
    );
  }
  // One KL term against its own Monte Carlo: E_{q(x_{t−1}|x_t,x_0)}[log q − log p].
  const t = 4;
  const x0 = tf.tensor2d([[1]]);
  const eps = tf.tensor2d([[0.3]]);
  const kl = diffusionTerm(schedule, linearPredictor(a, b), x0, t, eps, variance).dataSync()[0];
  const { alphaBar, beta } = at(schedule, t);
  const xt = Math.sqrt(alphaBar) + Math.sqrt(1 - alphaBar) * 0.3;
  const { c0, ct, variance: tilde } = posterior(schedule, t);
  const mean = (xt - beta / Math.sqrt(1 - alphaBar) * (a[t - 1] * xt + b[t - 1])) /
    Math.sqrt(1 - beta);
  const draws = Stream.derive(7, "kl");
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = c0 + ct * xt + Math.sqrt(tilde) * draws.normal();
    total += logNormal(x, c0 + ct * xt, tilde) - logNormal(x, mean, beta);
  }
  assert.ok(Math.abs(total / n - kl) < 0.02 * Math.max(1, kl), `KL ${kl} vs MC ${total / n}`);
  tf.dispose([x0, eps]);
});

function tinyDdpm(options: Record<string, number | string> = {}): Ddpm {
  return ddpmSpec.create({
    shape: { height: 12, width: 12, channels: 1 },
    options: { ...defaultOptions(ddpmSpec.options), timesteps: 50, channels: 4, ...options },
    init: Stream.derive(1, "init"),
  }) as Ddpm;
}

Deno.test("ddpm: trains, bounds and samples on 12×12 (the synthetic dataset's size)", async () => {
  const model = tinyDdpm({ learningRate: 0.003 });
  const stream = Stream.derive(2, "data");
  const x = tf.tensor2d(stream.uniformArray(16 * 144).map((u) => u < 0.3 ? 1 : 0), [16, 144]);
  const noise = Stream.derive(3, "noise");
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    const { eps_mse } = model.trainStep(x, noise);
    losses.push(eps_mse.dataSync()[0]);
    eps_mse.dispose();
  }
  assert.ok(losses.at(-1)! < losses[0], `ε MSE ${losses[0]} → ${losses.at(-1)}`);
  const terms = model.elbo(x, Stream.derive(4, "eval"));
  const [elbo, recon, kl] = [terms.elbo, terms.recon, terms.kl].map((t) => t.dataSync());
  for (let i = 0; i < 16; i++) {
    assert.ok(Number.isFinite(elbo[i]) && elbo[i] < 0, `elbo ${elbo[i]}`);
    assert.ok(Math.abs(elbo[i] + recon[i] + kl[i]) < 1e-3 * Math.abs(elbo[i]));
    assert.ok(kl[i] > 0 && recon[i] >= 0);
  }
  const mean = terms.mean.dataSync();
  assert.ok(mean.every((p) => p >= 0 && p <= 1));
  tf.dispose([terms.elbo, terms.recon, terms.kl, terms.mean, x]);
  const samples = await model.sample(3, Stream.derive(5, "sample"));
  assert.equal(samples.length, 3 * 144);
  assert.ok(samples.every((v) => v === 0 || v === 1));
  model.dispose();
});

Deno.test("ddpm 8-bit: trains, bounds and samples 0..255 values", async () => {
  const model = tinyDdpm({ bits: 8 });
  const stream = Stream.derive(2, "data");
  const x = tf.tensor2d(stream.uniformArray(8 * 144).map((u) => Math.floor(u * 256)), [8, 144]);
  const { eps_mse } = model.trainStep(x, Stream.derive(3, "noise"));
  assert.ok(Number.isFinite(eps_mse.dataSync()[0]));
  eps_mse.dispose();
  const terms = model.elbo(x, Stream.derive(4, "eval"));
  const elbo = terms.elbo.dataSync();
  assert.ok(elbo.every((v) => Number.isFinite(v) && v < 0), `elbo ${elbo[0]}`);
  assert.ok(terms.mean.dataSync().every((v) => v >= 0 && v <= 255));
  tf.dispose([terms.elbo, terms.recon, terms.kl, terms.mean, x]);
  const samples = await model.sample(2, Stream.derive(5, "sample"));
  assert.ok(samples.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.equal(inputKindOf(ddpmSpec, { ...defaultOptions(ddpmSpec.options), bits: 8 }), "byte");
  model.dispose();
});

Deno.test("ddpm: bad shapes and options fail in one line", () => {
  const oneLine = (pattern: RegExp) => (e: Error) =>
    e instanceof UsageError && pattern.test(e.message) && !e.message.includes("\n");
  const create = (height: number, channels = 1) =>
    ddpmSpec.create({
      shape: { height, width: height, channels },
      options: { ...defaultOptions(ddpmSpec.options) },
      init: Stream.derive(1, "init"),
    });
  assert.throws(() => create(10), oneLine(/ddpm.*divisible by 4/));
  assert.throws(() => create(12, 3), oneLine(/ddpm.*single-channel/));
  assert.throws(
    () =>
      ddpmSpec.create({
        shape: { height: 12, width: 12, channels: 1 },
        options: { ...defaultOptions(ddpmSpec.options), bits: 4 },
        init: Stream.derive(1, "init"),
      }),
    oneLine(/ddpm.*bits=4/),
  );
  assert.ok(ddpmSpec.options && ddpmSpec.references?.length);
});
