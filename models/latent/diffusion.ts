/**
 * The Gaussian diffusion of DDPM (Ho, Jain & Abbeel 2020) and its variational bound, apart from
 * any network: the β schedule, the forward marginals q(x_t|x_0), the posteriors
 * q(x_{t−1}|x_t, x_0), the reverse mean from an ε-prediction, and the bound
 *
 *   −log p(x_0) ≤ L_T + Σ_{t=2..T} L_{t−1} + L_0,
 *   L_T = KL(q(x_T|x_0) ‖ N(0, I)), L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p(x_{t−1}|x_t)),
 *   L_0 = −log p(x_0|x_1),
 *
 * every term computed (none sampled over t), each with its own draw of x_t ~ q(x_t|x_0).
 * Pixels live in [−1, 1] (binary 0/1 → ±1). The decoder p(x_0|x_1) is Ho et al.'s discretized
 * Gaussian N(μ(x_1, 1), β_1) integrated over each pixel value's bin; with two levels the bins are
 * (−∞, 0] and (0, ∞), so p(x_0 = ±1 | x_1) = Φ(±μ/√β_1): a Bernoulli decoder.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { normalTensor } from "../layers/nn.ts";

/** The noise schedule, 1-indexed by t through `at(t)`: β_t, α_t = 1 − β_t, ᾱ_t = Π α_s. */
export interface Schedule {
  steps: number;
  betas: Float64Array;
  alphaBars: Float64Array;
}

/** β_t linear from `start` to `end` over t = 1..T (Ho et al.: 1e−4 to 0.02 at T = 1000). */
export function linearSchedule(steps: number, start: number, end: number): Schedule {
  const betas = Float64Array.from(
    { length: steps },
    (_, i) => steps === 1 ? start : start + (end - start) * i / (steps - 1),
  );
  return scheduleOf(betas);
}

/** A schedule from explicit β_1..β_T. */
export function scheduleOf(betas: Float64Array): Schedule {
  const alphaBars = new Float64Array(betas.length);
  let product = 1;
  betas.forEach((beta, i) => alphaBars[i] = product *= 1 - beta);
  return { steps: betas.length, betas, alphaBars };
}

/** β_t, ᾱ_t and ᾱ_{t−1} (ᾱ_0 = 1) for 1 ≤ t ≤ T. */
export function at(schedule: Schedule, t: number) {
  return {
    beta: schedule.betas[t - 1],
    alphaBar: schedule.alphaBars[t - 1],
    alphaBarPrev: t === 1 ? 1 : schedule.alphaBars[t - 2],
  };
}

/**
 * q(x_{t−1} | x_t, x_0) = N(c0·x_0 + ct·x_t, variance) for t ≥ 2 (Ho et al. eq. 7).
 */
export function posterior(schedule: Schedule, t: number) {
  const { beta, alphaBar, alphaBarPrev } = at(schedule, t);
  return {
    c0: Math.sqrt(alphaBarPrev) * beta / (1 - alphaBar),
    ct: Math.sqrt(1 - beta) * (1 - alphaBarPrev) / (1 - alphaBar),
    variance: beta * (1 - alphaBarPrev) / (1 - alphaBar),
  };
}

/** The reverse variance σ_t²: β_t, or the posterior's β̃_t (t ≥ 2) — Ho et al. tried both. */
export type ReverseVariance = "beta" | "posterior";

export function reverseVariance(schedule: Schedule, t: number, kind: ReverseVariance): number {
  return kind === "posterior" && t > 1 ? posterior(schedule, t).variance : at(schedule, t).beta;
}

/** x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε: a draw of q(x_t | x_0) for given ε. */
export function forwardSample(
  schedule: Schedule,
  x0: tf.Tensor,
  t: number,
  eps: tf.Tensor,
): tf.Tensor {
  const { alphaBar } = at(schedule, t);
  return tf.tidy(() =>
    tf.add(tf.mul(x0, Math.sqrt(alphaBar)), tf.mul(eps, Math.sqrt(1 - alphaBar)))
  );
}

/** μ(x_t, t) = (x_t − β_t/√(1 − ᾱ_t)·ε̂) / √α_t from the predicted noise ε̂. */
export function reverseMean(schedule: Schedule, xt: tf.Tensor, t: number, epsHat: tf.Tensor) {
  const { beta, alphaBar } = at(schedule, t);
  return tf.tidy(() =>
    tf.mul(tf.sub(xt, tf.mul(epsHat, beta / Math.sqrt(1 - alphaBar))), 1 / Math.sqrt(1 - beta))
  );
}

/** A noise predictor ε̂(x_t, t): x_t [B, D] in diffusion units, t [B] (1..T as floats). */
export type NoisePredictor = (xt: tf.Tensor2D, t: tf.Tensor1D) => tf.Tensor2D;

/**
 * log Φ(z) elementwise, accurate in both tails: log erfc(x) = log τ − x² + P(τ) with
 * τ = 1/(1 + x/2) (Numerical Recipes' erfc, relative error < 1.2e−7 for x ≥ 0), so the lower tail
 * never underflows; the upper tail is log1p(−½·erfc).
 */
export function logNormalCdf(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.div(tf.abs(z), Math.SQRT2);
    const tau = tf.div(1, tf.add(1, tf.mul(x, 0.5)));
    const coefficients = [
      0.17087277,
      -0.82215223,
      1.48851587,
      -1.13520398,
      0.27886807,
      -0.18628806,
      0.09678418,
      0.37409196,
      1.00002368,
    ];
    let poly: tf.Tensor = tf.scalar(coefficients[0]);
    for (const c of coefficients.slice(1)) poly = tf.add(tf.mul(poly, tau), c);
    poly = tf.sub(tf.mul(poly, tau), 1.26551223);
    const logErfc = tf.add(tf.sub(tf.log(tau), tf.square(x)), poly);
    const lower = tf.add(logErfc, Math.log(0.5));
    const upper = tf.log1p(tf.mul(tf.exp(lower), -1));
    return tf.where(tf.less(z, 0), lower, upper);
  });
}

/**
 * log p(x_0 | x_1) per example: the discretized Gaussian N(mean, σ²) integrated over the bin
 * of each pixel value x_0 [B, D] (on the grid of `levels` values spanning [−1, 1], half-width
 * 1/(levels − 1), the outermost bins open to ±∞). Two levels: log Φ(±mean/σ), a Bernoulli.
 * A bin's mass Φ(b) − Φ(a) is taken from the tail it lies in, so neither tail cancels.
 */
export function decoderLogLikelihood(
  x0: tf.Tensor2D,
  mean: tf.Tensor2D,
  sigma: number,
  levels: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const half = 1 / (levels - 1);
    const za = tf.div(tf.sub(tf.sub(x0, half), mean), sigma);
    const zb = tf.div(tf.sub(tf.add(x0, half), mean), sigma);
    // Φ(b) − Φ(a) = Φ(−a) − Φ(−b): use the side whose CDFs are small.
    const flip = tf.greater(tf.add(za, zb), 0);
    const hi = tf.where(flip, tf.neg(za), zb);
    const lo = tf.where(flip, tf.neg(zb), za);
    const logHi = logNormalCdf(hi);
    const gap = tf.minimum(tf.sub(logNormalCdf(lo), logHi), -1e-30);
    const interior = tf.add(logHi, tf.log1p(tf.neg(tf.exp(gap))));
    const bottom = tf.lessEqual(x0, -1 + half / 2);
    const top = tf.greaterEqual(x0, 1 - half / 2);
    const value = tf.where(
      bottom,
      logNormalCdf(zb),
      tf.where(top, logNormalCdf(tf.neg(za)), interior),
    );
    return tf.sum(value, 1) as tf.Tensor1D;
  });
}

/**
 * The decoder's mean image in input units: P(x_0 = 1) for two levels, else
 * E[k] = Σ_{k=1}^{levels−1} P(x_0 ≥ k) on 0..levels−1.
 */
export function decoderMean(mean: tf.Tensor2D, sigma: number, levels: number): tf.Tensor2D {
  return tf.tidy(() => {
    let total = tf.zerosLike(mean);
    for (let k = 1; k < levels; k++) {
      const edge = -1 + (2 * k - 1) / (levels - 1);
      total = tf.add(total, tf.exp(logNormalCdf(tf.div(tf.sub(mean, edge), sigma))));
    }
    return total as tf.Tensor2D;
  });
}

/** KL(N(m1, v1) ‖ N(m2, v2)) summed over the last axis, v1 and v2 scalars. */
function gaussianKl(m1: tf.Tensor, v1: number, m2: tf.Tensor, v2: number): tf.Tensor1D {
  return tf.tidy(() => {
    const dims = m1.shape[m1.rank - 1]!;
    const constant = 0.5 * dims * (Math.log(v2 / v1) + v1 / v2 - 1);
    return tf.add(tf.mul(tf.sum(tf.square(tf.sub(m1, m2)), -1), 0.5 / v2), constant) as tf.Tensor1D;
  });
}

/** The bound's terms per example, in nats. */
export interface BoundTerms {
  /** L_T = KL(q(x_T|x_0) ‖ N(0, I)). */
  prior: tf.Tensor1D;
  /** Σ_{t=2..T} L_{t−1}. */
  diffusion: tf.Tensor1D;
  /** L_0 = −log p(x_0|x_1). */
  decoder: tf.Tensor1D;
  /** The decoder's mean image [B, D] in input units ({@link decoderMean}). */
  mean: tf.Tensor2D;
}

/** L_T per example for x_0 [B, D] (closed form, no noise needed). */
export function priorTerm(schedule: Schedule, x0: tf.Tensor2D): tf.Tensor1D {
  const { alphaBar } = at(schedule, schedule.steps);
  return gaussianKl(tf.mul(x0, Math.sqrt(alphaBar)), 1 - alphaBar, tf.zerosLike(x0), 1);
}

/** L_{t−1} per example for 2 ≤ t ≤ T, given the draw ε of x_t ~ q(x_t|x_0). */
export function diffusionTerm(
  schedule: Schedule,
  predict: NoisePredictor,
  x0: tf.Tensor2D,
  t: number,
  eps: tf.Tensor2D,
  variance: ReverseVariance,
): tf.Tensor1D {
  return tf.tidy(() => {
    const xt = forwardSample(schedule, x0, t, eps) as tf.Tensor2D;
    const epsHat = predict(xt, tf.fill([x0.shape[0]], t) as tf.Tensor1D);
    const { c0, ct, variance: tilde } = posterior(schedule, t);
    const trueMean = tf.add(tf.mul(x0, c0), tf.mul(xt, ct));
    const modelMean = reverseMean(schedule, xt, t, epsHat);
    return gaussianKl(trueMean, tilde, modelMean, reverseVariance(schedule, t, variance));
  });
}

/** L_0 per example and the decoder's mean, given the draw ε of x_1 ~ q(x_1|x_0). */
export function decoderTerm(
  schedule: Schedule,
  predict: NoisePredictor,
  x0: tf.Tensor2D,
  eps: tf.Tensor2D,
  levels = 2,
): { nll: tf.Tensor1D; mean: tf.Tensor2D } {
  return tf.tidy(() => {
    const x1 = forwardSample(schedule, x0, 1, eps) as tf.Tensor2D;
    const mu = reverseMean(schedule, x1, 1, predict(x1, tf.fill([x0.shape[0]], 1) as tf.Tensor1D));
    const sigma = Math.sqrt(at(schedule, 1).beta);
    return {
      nll: tf.neg(decoderLogLikelihood(x0, mu as tf.Tensor2D, sigma, levels)),
      mean: decoderMean(mu as tf.Tensor2D, sigma, levels),
    };
  });
}

/**
 * Every term of the bound for x_0 on the decoder's grid in [−1, 1] [B, D]: t = 1..T in order, each with a fresh
 * ε ~ N(0, I) [B, D] from `noise` (so the same stream gives the same bound).
 */
export function variationalBound(
  schedule: Schedule,
  predict: NoisePredictor,
  x0: tf.Tensor2D,
  noise: Stream,
  variance: ReverseVariance,
  levels = 2,
): BoundTerms {
  const prior = priorTerm(schedule, x0);
  const eps1 = normalTensor(x0.shape, noise) as tf.Tensor2D;
  const { nll: decoder, mean } = decoderTerm(schedule, predict, x0, eps1, levels);
  eps1.dispose();
  let diffusion = tf.zeros([x0.shape[0]]) as tf.Tensor1D;
  for (let t = 2; t <= schedule.steps; t++) {
    const eps = normalTensor(x0.shape, noise) as tf.Tensor2D;
    const term = diffusionTerm(schedule, predict, x0, t, eps, variance);
    const next = tf.add(diffusion, term) as tf.Tensor1D;
    tf.dispose([eps, term, diffusion]);
    diffusion = next;
  }
  return { prior, diffusion, decoder, mean };
}
