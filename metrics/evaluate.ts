/**
 * Evaluation on the static test set: per-example likelihoods and bounds, summed in float64 on
 * the host, in chunks so memory stays flat. All test images, or where the suite says so
 * (`protocol.evalCount`) one seeded random subset shared by every model (datasets/subset.ts).
 *
 * Each estimate draws from its own child stream of `noise` ("elbo", "iwae") over fixed chunks
 * of test images, so computing one bound never moves another: the ELBO is bit-identical for
 * any IWAE k.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../core/rng.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import type { GenerativeModel, InputKind, ModelSpec } from "../models/model.ts";
import { inputBatch } from "../datasets/batch.ts";
import { datasetTestSubset, type TestSubset } from "../datasets/subset.ts";

/** Sums over the evaluated test examples (null where the model cannot compute the quantity). */
export interface EvalSums {
  count: number;
  /** The test images evaluated (all of them, or a seeded random subset). */
  subset: TestSubset;
  /** Σ log p(x), exact. */
  logProb: number | null;
  /** Σ ELBO and its parts. */
  elbo: number | null;
  kl: number | null;
  /** Σ E_q[−log p(x|z)], one z per example (the ELBO's reconstruction term). */
  reconBce: number | null;
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

/** Evaluate `model` on the test split (or its seeded subset of `protocol.evalCount` images). */
export async function evaluate(
  model: GenerativeModel,
  spec: ModelSpec,
  dataset: Dataset,
  kind: InputKind,
  protocol: { evalCount: number | null; iwaeK: number },
  noise: Stream,
): Promise<EvalSums> {
  const subset = datasetTestSubset(dataset, protocol.evalCount);
  const count = subset.n;
  const dim = dimOf(dataset.shape);
  const exact = spec.capabilities.includes("exact-likelihood") && model.logProb !== undefined;
  const bounds = spec.capabilities.includes("elbo") && model.elbo !== undefined;
  const iwaeK = bounds && model.iwae !== undefined ? protocol.iwaeK : 0;
  const sums: EvalSums = {
    count,
    subset,
    logProb: exact ? 0 : null,
    elbo: bounds ? 0 : null,
    kl: bounds ? 0 : null,
    reconBce: bounds ? 0 : null,
    iwae: iwaeK > 0 ? 0 : null,
    iwaeK,
  };
  const elboNoise = noise.child("elbo");
  const iwaeNoise = noise.child("iwae");
  const binary = kind === "binary" ? dataset.testBinary : null;
  const conditional = spec.capabilities.includes("conditional");
  // The IWAE decodes k samples per image: it goes through each chunk in smaller pieces.
  const iwaeChunk = iwaeK > 0 ? Math.max(1, Math.min(CHUNK, Math.floor(CHUNK * 20 / iwaeK))) : 0;
  for (let start = 0; start < count; start += CHUNK) {
    const rows = subset.rows.subarray(start, Math.min(start + CHUNK, count));
    const x = inputBatch(dataset.test.images, binary, dim, rows, kind, null);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => dataset.test.labels[r]), "int32")
      : undefined;
    if (exact) sums.logProb! += await sum(model.logProb!(x, labels));
    if (bounds) {
      const terms = model.elbo!(x, elboNoise, labels);
      sums.elbo! += await sum(terms.elbo);
      sums.kl! += await sum(terms.kl);
      sums.reconBce! += await sum(terms.recon);
      terms.mean.dispose();
    }
    for (let from = 0; iwaeK > 0 && from < rows.length; from += iwaeChunk) {
      const size = Math.min(iwaeChunk, rows.length - from);
      const part = tf.slice(x, [from, 0], [size, dim]);
      const partLabels = labels ? tf.slice(labels, [from], [size]) : undefined;
      sums.iwae! += await sum(model.iwae!(part, iwaeK, iwaeNoise, partLabels));
      tf.dispose([part, ...(partLabels ? [partLabels] : [])]);
    }
    x.dispose();
    labels?.dispose();
    // Let a Ctrl-C be delivered between chunks (the cpu backend never yields on its own).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return sums;
}
