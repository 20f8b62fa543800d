/**
 * The importance-weighted bound of a model's own `iwae` (Burda et al. 2015), chunked so that
 * memory stays flat as k grows. It lives with the models, which compute it; metrics/bounds.ts
 * combines it across chunks of samples and re-exports it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "../../core/errors.ts";

/** Rows (examples × samples) one chunk may decode at once, by default. */
export const DEFAULT_CHUNK_ROWS = 2048;

/** Fail in one line unless k is an integer ≥ 1. */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new UsageError(`iwae: k must be an integer ≥ 1 (got ${k})`);
  }
}

/** Samples per chunk for a batch of `batch` examples: as many as fit in `maxRows` rows. */
export function samplesPerChunk(batch: number, k: number, maxRows = DEFAULT_CHUNK_ROWS): number {
  return Math.max(1, Math.min(k, Math.floor(maxRows / Math.max(1, batch))));
}

/**
 * The IWAE-k bound per example from a function that returns log importance weights
 * [B, c] for c fresh samples, evaluated `chunk` samples at a time with the running
 * log-sum-exp on the device (no host sync: this is what a model's own `iwae` uses).
 */
export function iwaeFromLogWeights(
  batch: number,
  k: number,
  logWeights: (samples: number) => tf.Tensor2D,
  maxRows = DEFAULT_CHUNK_ROWS,
): tf.Tensor1D {
  checkK(k);
  const chunk = samplesPerChunk(batch, k, maxRows);
  let total: tf.Tensor1D | null = null;
  for (let done = 0; done < k; done += chunk) {
    const c = Math.min(chunk, k - done);
    const next: tf.Tensor1D = tf.tidy(() => {
      const part = tf.logSumExp(logWeights(c), 1) as tf.Tensor1D;
      return total === null ? part : tf.logSumExp(tf.stack([total, part]), 0) as tf.Tensor1D;
    });
    total?.dispose();
    total = next;
  }
  const bound = tf.sub(total!, Math.log(k)) as tf.Tensor1D;
  total!.dispose();
  return bound;
}
