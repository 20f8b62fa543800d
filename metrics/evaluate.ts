/**
 * Evaluation on the static test set: per-example likelihoods and bounds, summed in float64 on
 * the host, in chunks so memory stays flat. Only the first `protocol.evalCount` test images are
 * used when the suite says so.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../core/rng.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import type { GenerativeModel, InputKind, ModelSpec } from "../models/model.ts";
import { inputBatch } from "../datasets/batch.ts";

/** Sums over the evaluated test examples (null where the model cannot compute the quantity). */
export interface EvalSums {
  count: number;
  /** Σ log p(x), exact. */
  logProb: number | null;
  /** Σ ELBO and its parts. */
  elbo: number | null;
  kl: number | null;
  reconBce: number | null;
  /** Σ over examples and pixels of (x − E[x|z])². */
  reconSquaredError: number | null;
  /** Σ IWAE-k bound. */
  iwae: number | null;
  iwaeK: number;
}

const CHUNK = 500;

async function sum(tensor: tf.Tensor): Promise<number> {
  const values = await tensor.data();
  tensor.dispose();
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Evaluate `model` on the test split. */
export async function evaluate(
  model: GenerativeModel,
  spec: ModelSpec,
  dataset: Dataset,
  kind: InputKind,
  protocol: { evalCount: number | null; iwaeK: number },
  noise: Stream,
): Promise<EvalSums> {
  const count = Math.min(protocol.evalCount ?? dataset.test.count, dataset.test.count);
  const dim = dimOf(dataset.shape);
  const exact = spec.capabilities.includes("exact-likelihood") && model.logProb !== undefined;
  const bounds = spec.capabilities.includes("elbo") && model.elbo !== undefined;
  const iwaeK = bounds && model.iwae !== undefined ? protocol.iwaeK : 0;
  const sums: EvalSums = {
    count,
    logProb: exact ? 0 : null,
    elbo: bounds ? 0 : null,
    kl: bounds ? 0 : null,
    reconBce: bounds ? 0 : null,
    reconSquaredError: bounds ? 0 : null,
    iwae: iwaeK > 0 ? 0 : null,
    iwaeK,
  };
  const binary = kind === "binary" ? dataset.testBinary : null;
  const conditional = spec.capabilities.includes("conditional");
  const chunk = iwaeK > 0 ? Math.max(1, Math.min(CHUNK, Math.floor(CHUNK * 20 / iwaeK))) : CHUNK;
  for (let start = 0; start < count; start += chunk) {
    const rows = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => start + i);
    const x = inputBatch(dataset.test.images, binary, dim, rows, kind, null);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => dataset.test.labels[r]), "int32")
      : undefined;
    if (exact) sums.logProb! += await sum(model.logProb!(x, labels));
    if (bounds) {
      const terms = model.elbo!(x, noise, labels);
      sums.elbo! += await sum(terms.elbo);
      sums.kl! += await sum(terms.kl);
      sums.reconBce! += await sum(terms.recon);
      sums.reconSquaredError! += await sum(tf.tidy(() => tf.square(tf.sub(x, terms.mean))));
      terms.mean.dispose();
    }
    if (iwaeK > 0) sums.iwae! += await sum(model.iwae!(x, iwaeK, noise, labels));
    x.dispose();
    labels?.dispose();
    // Let a Ctrl-C be delivered between chunks (the cpu backend never yields on its own).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return sums;
}
