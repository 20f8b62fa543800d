/**
 * Likelihood bounds of latent-variable models, per example, in nats.
 *
 * - ELBO: E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)), with its reconstruction and KL parts.
 * - IWAE-k (Burda et al. 2015): log (1/k) Σ_{i≤k} p(x, z_i)/q(z_i|x), z_i ~ q(z|x). It is a
 *   lower bound on log p(x) for every k, non-decreasing in expectation as k grows, and tends
 *   to log p(x) as k → ∞; IWAE-1 has the ELBO as its expectation.
 *
 * The k samples are drawn in chunks and combined with a running log-sum-exp, so memory stays
 * flat as k grows (k = 5000 in the `paper` suite): log Σ_all w = LSE over chunks of
 * (bound_c + log c), where bound_c = log (1/c) Σ_chunk w is a model's own `iwae(x, c)`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "../core/errors.ts";
import type { Stream } from "../core/rng.ts";
import type { GenerativeModel } from "../models/model.ts";
import { checkK, samplesPerChunk } from "../models/layers/iwae.ts";

export {
  checkK,
  DEFAULT_CHUNK_ROWS,
  iwaeFromLogWeights,
  samplesPerChunk,
} from "../models/layers/iwae.ts";

/**
 * A running log-sum-exp per example, in float64: `add` folds in one chunk of log-values,
 * `value` is log Σ exp over everything added. Used to combine chunks of importance weights.
 */
export class RunningLogSumExp {
  readonly #max: Float64Array;
  readonly #sum: Float64Array;

  constructor(readonly count: number) {
    this.#max = new Float64Array(count).fill(-Infinity);
    this.#sum = new Float64Array(count);
  }

  /** Fold in `columns` log-values per example, row-major [count, columns]. */
  add(values: ArrayLike<number>, columns: number): void {
    for (let i = 0; i < this.count; i++) {
      let chunkMax = -Infinity;
      for (let j = 0; j < columns; j++) chunkMax = Math.max(chunkMax, values[i * columns + j]);
      if (chunkMax === -Infinity) continue;
      if (chunkMax > this.#max[i]) {
        this.#sum[i] *= Math.exp(this.#max[i] - chunkMax);
        this.#max[i] = chunkMax;
      }
      for (let j = 0; j < columns; j++) {
        this.#sum[i] += Math.exp(values[i * columns + j] - this.#max[i]);
      }
    }
  }

  /** log Σ exp of everything added, per example. */
  value(): Float64Array {
    return this.#max.map((max, i) => max + Math.log(this.#sum[i]));
  }
}

/** What {@link iwaeBound} and {@link latentBounds} may be told. */
export interface BoundOptions {
  /** One int32 class per example, for conditional models. */
  labels?: tf.Tensor1D;
  /** Rows (examples × samples) per model call; default {@link DEFAULT_CHUNK_ROWS}. */
  maxRows?: number;
}

/**
 * The IWAE-k bound per example (nats, float64) of any model with an `iwae` method, for a
 * batch x [B, D]. The model is asked for c samples at a time and the chunks are combined
 * exactly (log Σ w = LSE_c(bound_c + log c)), so memory is that of one chunk whatever k is.
 * A model that draws its samples in order (sample-major) from `noise` gives the same value
 * as one call with all k samples.
 */
export async function iwaeBound(
  model: Pick<GenerativeModel, "iwae">,
  x: tf.Tensor2D,
  k: number,
  noise: Stream,
  options: BoundOptions = {},
): Promise<Float64Array> {
  checkK(k);
  if (!model.iwae) throw new UsageError("iwae: this model has no importance-weighted bound");
  const batch = x.shape[0];
  const chunk = samplesPerChunk(batch, k, options.maxRows);
  const total = new RunningLogSumExp(batch);
  for (let done = 0; done < k; done += chunk) {
    const c = Math.min(chunk, k - done);
    const part = model.iwae(x, c, noise, options.labels);
    const values = await part.data();
    part.dispose();
    const logSum = Float64Array.from(values, (v) => v + Math.log(c));
    total.add(logSum, 1);
  }
  return total.value().map((v) => v - Math.log(k));
}

/** Per-example ELBO terms (nats, float64) of a model with an `elbo` method. */
export async function elboBound(
  model: Pick<GenerativeModel, "elbo">,
  x: tf.Tensor2D,
  noise: Stream,
  labels?: tf.Tensor1D,
): Promise<{ elbo: Float64Array; recon: Float64Array; kl: Float64Array; mean: Float32Array }> {
  if (!model.elbo) throw new UsageError("elbo: this model has no evidence lower bound");
  const terms = model.elbo(x, noise, labels);
  const [elbo, recon, kl, mean] = await Promise.all(
    [terms.elbo, terms.recon, terms.kl, terms.mean].map((t) => t.data()),
  );
  for (const t of [terms.elbo, terms.recon, terms.kl, terms.mean]) t.dispose();
  return {
    elbo: Float64Array.from(elbo),
    recon: Float64Array.from(recon),
    kl: Float64Array.from(kl),
    mean: mean as Float32Array,
  };
}

/** Averages over a data set of the bounds of {@link latentBounds}, all in nats. */
export interface LatentBoundSummary {
  count: number;
  /** Mean ELBO (a lower bound on the mean log p(x)). */
  elbo: number;
  /** Mean E_q[−log p(x|z)]. */
  recon: number;
  /** Mean KL(q(z|x) ‖ p(z)). */
  kl: number;
  /** Mean IWAE-k bound for each k asked for. */
  iwae: Record<number, number>;
}

/**
 * ELBO (with its parts) and IWAE-k for each k in `ks`, averaged over `count` examples of
 * `data` ([count, dims] row-major, in the model's input units), `batchSize` at a time. All
 * bounds of one batch see the same examples. Each estimate draws from its own child stream of
 * `noise` ("elbo", "iwae-<k>"), so the ELBO does not move when a k is added or changed.
 */
export async function latentBounds(
  model: Pick<GenerativeModel, "elbo" | "iwae">,
  data: Float32Array,
  count: number,
  dims: number,
  options: {
    ks: number[];
    batchSize: number;
    noise: Stream;
    labels?: Int32Array;
    maxRows?: number;
  },
): Promise<LatentBoundSummary> {
  for (const k of options.ks) checkK(k);
  const sums = { elbo: 0, recon: 0, kl: 0 };
  const iwae: Record<number, number> = {};
  for (const k of options.ks) iwae[k] = 0;
  const elboNoise = options.noise.child("elbo");
  const iwaeNoise = new Map(options.ks.map((k) => [k, options.noise.child(`iwae-${k}`)]));
  for (let start = 0; start < count; start += options.batchSize) {
    const n = Math.min(options.batchSize, count - start);
    const x = tf.tensor2d(data.subarray(start * dims, (start + n) * dims), [n, dims]);
    const labels = options.labels
      ? tf.tensor1d(options.labels.subarray(start, start + n), "int32")
      : undefined;
    const terms = await elboBound(model, x, elboNoise, labels);
    for (let i = 0; i < n; i++) {
      sums.elbo += terms.elbo[i];
      sums.recon += terms.recon[i];
      sums.kl += terms.kl[i];
    }
    for (const k of options.ks) {
      const bound = await iwaeBound(model, x, k, iwaeNoise.get(k)!, {
        labels,
        maxRows: options.maxRows,
      });
      for (const value of bound) iwae[k] += value;
    }
    x.dispose();
    labels?.dispose();
  }
  for (const k of options.ks) iwae[k] /= count;
  return {
    count,
    elbo: sums.elbo / count,
    recon: sums.recon / count,
    kl: sums.kl / count,
    iwae,
  };
}
