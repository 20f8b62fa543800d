/**
 * Annealed importance sampling (Neal 2001) for decoder-based generative models, as in Wu et al.
 * 2017 ("On the quantitative analysis of decoder-based generative models"): a decoder g with a
 * Gaussian observation model of fixed σ, p(x|z) = N(x; g(z), σ²I), and prior p(z) = N(0, I).
 *
 * The chain anneals along the geometric path f_t(z) = p(z) p(x|z)^β_t from the prior (β = 0)
 * to the unnormalised posterior (β = 1), with Hamiltonian Monte Carlo transitions (leapfrog
 * steps; a per-chain step size adapted toward a target acceptance rate). The log-mean-exp of the
 * importance weights over independent chains is an unbiased estimate of p(x) inside the log, so
 * its mean is a stochastic lower bound on log p(x). Run in reverse from an exact posterior sample
 * (available for data simulated from the model), the same machinery estimates 1/p(x) and gives a
 * stochastic upper bound: bidirectional Monte Carlo (BDMC, Grosse et al. 2015) brackets the
 * truth. Every random number comes from the caller's stream (momenta, acceptance uniforms,
 * initial states), so a run is reproducible; the result is a likelihood of kind `ais`.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core registers no gradients by itself; the union package does on import.
import "@tensorflow/tfjs";
import type { Stream } from "../core/rng.ts";

/** A differentiable decoder: mean images [N, D] for latent codes [N, Z]. */
export type Decoder = (z: tf.Tensor2D) => tf.Tensor2D;

/** How an AIS run is scheduled. */
export interface AisOptions {
  /** Number of intermediate distributions T (annealing steps). */
  steps: number;
  /** Leapfrog steps per HMC transition. */
  leapfrog: number;
  /** Independent chains per example (the estimate is the log-mean-exp over them). */
  chains: number;
  /** `sigmoid` (Grosse et al. 2015, δ = 4, spends more steps near both ends) or `linear`. */
  schedule: "sigmoid" | "linear";
  /** Initial HMC step size. */
  stepSize: number;
  /** The acceptance probability the step-size adaptation aims at. */
  targetAcceptance: number;
  /** Adaptation rate: log ε += rate · (acceptance probability − target) after each transition. */
  adaptRate: number;
  /** Chains per example of the pilot run that tunes the step sizes. */
  pilotChains: number;
}

/** The default schedule; it is within 0.5 nats of the exact log p(x) on the linear-Gaussian test. */
export const DEFAULT_AIS: AisOptions = {
  steps: 500,
  leapfrog: 10,
  chains: 16,
  schedule: "sigmoid",
  stepSize: 0.1,
  targetAcceptance: 0.65,
  adaptRate: 0.05,
  pilotChains: 2,
};

/** Per-example estimates of one run. */
export interface AisResult {
  /** log p(x) estimate per example, nats (forward: lower bound; reverse: upper bound). */
  logProb: Float64Array;
  /** Mean HMC acceptance probability over all transitions and chains. */
  acceptance: number;
  /**
   * The step-size schedule used: log ε per transition and example, row-major [T − 1, B] (in
   * the order of the forward run); pass it to {@link reverseAisLogProb} to run BDMC with the
   * same transitions.
   */
  logStepSizes: Float32Array;
}

/** The inverse temperatures β_0 = 0 < … < β_T = 1. */
export function aisSchedule(steps: number, kind: AisOptions["schedule"]): Float64Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`AIS: steps must be ≥ 1 (${steps})`);
  const betas = new Float64Array(steps + 1);
  if (kind === "linear") {
    for (let t = 0; t <= steps; t++) betas[t] = t / steps;
    return betas;
  }
  const delta = 4;
  const raw = (t: number) => 1 / (1 + Math.exp(-delta * (2 * t / steps - 1)));
  const lo = raw(0);
  const hi = raw(steps);
  for (let t = 0; t <= steps; t++) betas[t] = (raw(t) - lo) / (hi - lo);
  betas[0] = 0;
  betas[steps] = 1;
  return betas;
}

/** log Σ exp over `values[k·stride + b]`, k < count, in float64. */
function logSumExp(values: ArrayLike<number>, b: number, count: number, stride: number): number {
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, values[k * stride + b]);
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(values[k * stride + b] - max);
  return max + Math.log(sum);
}

interface ChainState {
  z: tf.Tensor2D;
  /** −‖x − g(z)‖² / 2σ² per chain (log p(x|z) without its constant). */
  ll: tf.Tensor1D;
  /** ∇_z ll, [N, Z]. */
  grad: tf.Tensor2D;
}

/**
 * Runs the annealing loop over `betas` (ascending: forward; descending: reverse) from `z0`,
 * returning the accumulated log weights Σ (β_t − β_{t−1}) ll(z_{t−1}) per chain and the mean
 * acceptance probability. HMC transitions leave f_t invariant; the one after the last weight
 * update is not needed and is skipped.
 */
async function anneal(
  decode: Decoder,
  xs: tf.Tensor2D,
  z0: tf.Tensor2D,
  betas: Float64Array,
  sigma: number,
  noise: Stream,
  options: AisOptions,
  fixed: Float32Array | null,
): Promise<{ logWeights: Float32Array; acceptance: number; logStepSizes: Float32Array }> {
  const [n, latent] = z0.shape;
  const batch = n / options.chains;
  // Per-example mean log ε of each transition, recorded while adapting.
  const recorded: tf.Tensor[] = [];
  // The fixed schedule's row for transition t, one value per chain (chain-major).
  const fixedRow = (t: number) =>
    tf.tensor2d(
      Float32Array.from({ length: n }, (_, i) => fixed![(t - 1) * batch + (i % batch)]),
      [n, 1],
    );
  const scale = 1 / (2 * sigma * sigma);
  const evaluate = (z: tf.Tensor2D): ChainState => {
    let ll: tf.Tensor1D | null = null;
    const { grad } = tf.valueAndGrad((v: tf.Tensor2D) => {
      const value = tf.mul(tf.sum(tf.square(tf.sub(xs, decode(v))), 1), -scale) as tf.Tensor1D;
      ll = tf.keep(value);
      return tf.sum(value);
    })(z);
    return { z, ll: ll!, grad: grad as tf.Tensor2D };
  };
  let state = evaluate(tf.clone(z0));
  let logW = tf.zeros([n]) as tf.Tensor1D;
  let logEps = tf.fill([n, 1], Math.log(options.stepSize)) as tf.Tensor2D;
  let acceptSum = tf.scalar(0);
  const steps = betas.length - 1;
  for (let t = 1; t <= steps; t++) {
    const nextW = tf.tidy(() => tf.add(logW, tf.mul(state.ll, betas[t] - betas[t - 1])));
    logW.dispose();
    logW = nextW as tf.Tensor1D;
    if (t === steps) break;
    const beta = betas[t];
    const momentum = tf.tensor2d(noise.normalArray(n * latent), [n, latent]);
    const logU = tf.tensor1d(Float32Array.from({ length: n }, () => Math.log(noise.uniform())));
    // U(z) = ½‖z‖² − β·ll(z), ∇U = z − β·∇ll.
    const gradU = (s: ChainState) => tf.sub(s.z, tf.mul(s.grad, beta));
    // H = U(z) + ½‖p‖².
    const energy = (s: ChainState, p: tf.Tensor2D) =>
      tf.sub(tf.mul(tf.sum(tf.add(tf.square(s.z), tf.square(p)), 1), 0.5), tf.mul(s.ll, beta));
    if (fixed) {
      logEps.dispose();
      logEps = fixedRow(t);
    }
    const eps = tf.exp(logEps);
    const h0 = tf.tidy(() => energy(state, momentum));
    let p = tf.tidy(() => tf.sub(momentum, tf.mul(gradU(state), tf.mul(eps, 0.5)))) as tf.Tensor2D;
    let proposal: ChainState | null = null;
    for (let l = 1; l <= options.leapfrog; l++) {
      const from = proposal ? proposal.z : state.z;
      const z = tf.tidy(() => tf.add(from, tf.mul(p, eps))) as tf.Tensor2D;
      const next = evaluate(z);
      if (proposal) tf.dispose([proposal.z, proposal.ll, proposal.grad]);
      proposal = next;
      const half = l === options.leapfrog ? 0.5 : 1;
      const nextP = tf.tidy(() => tf.sub(p, tf.mul(gradU(next), tf.mul(eps, half))));
      p.dispose();
      p = nextP as tf.Tensor2D;
    }
    const prop = proposal!;
    const { accept, logAccept } = tf.tidy(() => {
      const h1 = energy(prop, p);
      const diff = tf.minimum(tf.sub(h0, h1), 0);
      const logAccept = tf.where(tf.isNaN(diff), tf.fill([n], -Infinity), diff);
      return { accept: tf.less(logU, logAccept), logAccept };
    });
    const next: ChainState = tf.tidy(() => {
      const column = tf.reshape(accept, [n, 1]);
      return {
        z: tf.where(column, prop.z, state.z) as tf.Tensor2D,
        ll: tf.where(accept, prop.ll, state.ll) as tf.Tensor1D,
        grad: tf.where(column, prop.grad, state.grad) as tf.Tensor2D,
      };
    });
    if (!fixed) {
      recorded.push(tf.tidy(() => tf.mean(tf.reshape(logEps, [options.chains, batch]), 0)));
    }
    const adapted = tf.tidy(() => {
      const rate = tf.reshape(tf.exp(logAccept), [n, 1]);
      const moved = tf.add(
        logEps,
        tf.mul(tf.sub(rate, options.targetAcceptance), options.adaptRate),
      );
      return {
        logEps: tf.clipByValue(moved, Math.log(1e-4), Math.log(2)),
        sum: tf.add(acceptSum, tf.sum(rate)),
      };
    });
    tf.dispose([
      state.z,
      state.ll,
      state.grad,
      prop.z,
      prop.ll,
      prop.grad,
      momentum,
      logU,
      eps,
      h0,
      p,
      accept,
      logAccept,
      logEps,
      acceptSum,
    ]);
    state = next;
    logEps = adapted.logEps as tf.Tensor2D;
    acceptSum = adapted.sum as tf.Scalar;
  }
  const logWeights = (await logW.data()) as Float32Array;
  const acceptTotal = (await acceptSum.data())[0];
  let logStepSizes = fixed ?? new Float32Array(0);
  if (!fixed && recorded.length > 0) {
    const stacked = tf.stack(recorded);
    logStepSizes = (await stacked.data()) as Float32Array;
    stacked.dispose();
  }
  tf.dispose([state.z, state.ll, state.grad, logW, logEps, acceptSum, ...recorded]);
  return {
    logWeights,
    acceptance: steps > 1 ? acceptTotal / ((steps - 1) * n) : 1,
    logStepSizes,
  };
}

function resolve(options: Partial<AisOptions>): AisOptions {
  const o = { ...DEFAULT_AIS, ...options };
  for (const key of ["steps", "leapfrog", "chains", "pilotChains"] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) {
      throw new Error(`AIS: ${key} must be a positive integer (got ${o[key]})`);
    }
  }
  return o;
}

/** x [B, D] repeated chain-major: row k·B + b is example b (chain k). */
function tileChains(x: tf.Tensor2D, chains: number): tf.Tensor2D {
  return tf.tile(x, [chains, 1]) as tf.Tensor2D;
}

/**
 * Forward AIS: per-example estimates of log p(x) = log ∫ N(x; g(z), σ²I) N(z; 0, I) dz for the
 * rows of `x` [B, D], with `options.chains` chains each started from the prior. Its mean over
 * examples is a stochastic lower bound on the mean log p(x).
 */
export async function aisLogProb(
  decode: Decoder,
  x: tf.Tensor2D,
  latent: number,
  sigma: number,
  noise: Stream,
  options: Partial<AisOptions> = {},
): Promise<AisResult> {
  const o = resolve(options);
  const [batch, dim] = x.shape;
  const betas = aisSchedule(o.steps, o.schedule);
  const run = async (chains: number, fixed: Float32Array | null) => {
    const xs = tileChains(x, chains);
    const z0 = tf.tensor2d(noise.normalArray(chains * batch * latent), [chains * batch, latent]);
    const out = await anneal(decode, xs, z0, betas, sigma, noise, { ...o, chains }, fixed);
    tf.dispose([xs, z0]);
    return out;
  };
  // Step sizes are tuned by a pilot run and then fixed: adapting them inside the estimating run
  // would make each transition depend on its chain's past, which biases AIS (the "lower bound"
  // then overshoots the truth).
  const pilot = await run(o.pilotChains, null);
  const { logWeights, acceptance, logStepSizes } = await run(o.chains, pilot.logStepSizes);
  const constant = -0.5 * dim * Math.log(2 * Math.PI * sigma * sigma);
  const logProb = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    logProb[b] = logSumExp(logWeights, b, o.chains, batch) - Math.log(o.chains) + constant;
  }
  return { logProb, acceptance, logStepSizes };
}

/**
 * Reverse AIS (the upper half of BDMC): for examples `x` [B, D] whose exact posterior samples
 * `z` [B, Z] are known (data simulated as z ~ p(z), x ~ p(x|z)), anneal from the posterior back
 * to the prior; −log-mean-exp of the reverse weights is a stochastic upper bound on log p(x).
 */
export async function reverseAisLogProb(
  decode: Decoder,
  x: tf.Tensor2D,
  z: tf.Tensor2D,
  sigma: number,
  noise: Stream,
  options: Partial<AisOptions> = {},
  logStepSizes?: Float32Array,
): Promise<AisResult> {
  const o = resolve(options);
  const [batch, dim] = x.shape;
  const steps = o.steps;
  // The forward run's step sizes (tuned by a forward pilot when not given), in reverse order:
  // transition t of the reverse run is the forward run's transition T − t.
  const forward = logStepSizes ??
    (await aisLogProb(decode, x, z.shape[1], sigma, noise, { ...o, chains: o.pilotChains }))
      .logStepSizes;
  if (forward.length !== (steps - 1) * batch) {
    throw new Error(
      `AIS: step sizes for ${forward.length} values, expected ${(steps - 1) * batch}`,
    );
  }
  const reversed = new Float32Array(forward.length);
  for (let t = 0; t < steps - 1; t++) {
    reversed.set(forward.subarray((steps - 2 - t) * batch, (steps - 1 - t) * batch), t * batch);
  }
  const xs = tileChains(x, o.chains);
  const z0 = tileChains(z, o.chains);
  const betas = aisSchedule(steps, o.schedule).reverse();
  const { logWeights, acceptance } = await anneal(decode, xs, z0, betas, sigma, noise, o, reversed);
  tf.dispose([xs, z0]);
  const constant = -0.5 * dim * Math.log(2 * Math.PI * sigma * sigma);
  const logProb = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    logProb[b] = constant - (logSumExp(logWeights, b, o.chains, batch) - Math.log(o.chains));
  }
  return { logProb, acceptance, logStepSizes: reversed };
}

/**
 * `count` examples simulated from the model, with their exact posterior samples: z ~ N(0, I),
 * x = g(z) + σ·ε. For BDMC: forward AIS on x gives a lower bound, reverse AIS from z an upper
 * bound on the same log p(x).
 */
export function simulate(
  decode: Decoder,
  latent: number,
  sigma: number,
  count: number,
  noise: Stream,
): { x: tf.Tensor2D; z: tf.Tensor2D } {
  const z = tf.tensor2d(noise.normalArray(count * latent), [count, latent]);
  const mean = decode(z);
  const eps = tf.tensor2d(noise.normalArray(mean.size), mean.shape);
  const x = tf.tidy(() => tf.add(mean, tf.mul(eps, sigma))) as tf.Tensor2D;
  tf.dispose([mean, eps]);
  return { x, z };
}

/**
 * Forward AIS over many images for a model's generator (`model.generator(noise)`): `images` are
 * `count` rows of `dim` values in [0, 1], evaluated `chunk` at a time (memory grows with
 * chunk × chains). `labels` (one per image) condition a class-conditional generator, giving
 * log p(x | y). Returns the per-image estimates, nats.
 */
export async function aisOverImages(
  decoder: {
    latent: number;
    decode(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D;
  },
  images: Float32Array,
  count: number,
  dim: number,
  sigma: number,
  noise: Stream,
  options: Partial<AisOptions> = {},
  labels?: Int32Array,
  chunk = 25,
): Promise<Float64Array> {
  const out = new Float64Array(count);
  const chains = options.chains ?? DEFAULT_AIS.chains;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const x = tf.tensor2d(images.subarray(start * dim, (start + n) * dim), [n, dim]);
    // Chains are laid out chain-major (row k·n + b is image b), so the labels repeat likewise.
    const y = labels
      ? tf.tensor1d(
        Int32Array.from({ length: n * chains }, (_, i) => labels[start + (i % n)]),
        "int32",
      )
      : undefined;
    const pilotY = labels
      ? (rows: number) =>
        tf.tensor1d(Int32Array.from({ length: rows }, (_, i) => labels[start + (i % n)]), "int32")
      : undefined;
    const decode: Decoder = (z) => {
      if (!pilotY) return decoder.decode(z);
      // The pilot run has fewer chains than the main one: build labels for the rows at hand.
      if (y && z.shape[0] === y.shape[0]) return decoder.decode(z, y);
      return tf.tidy(() => decoder.decode(z, pilotY(z.shape[0])));
    };
    const result = await aisLogProb(decode, x, decoder.latent, sigma, noise, options);
    out.set(result.logProb, start);
    tf.dispose([x, ...(y ? [y] : [])]);
  }
  return out;
}
