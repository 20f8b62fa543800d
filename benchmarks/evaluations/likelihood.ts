/**
 * The test-set likelihoods (metrics/evaluate.ts): exact log p(x) where the model has it, else
 * −ELBO and −IWAE-k, and the ELBO's parts. `nll_nats`/`bpd` carry the best estimate the model
 * offers with its kind; every average records how many test images it covers.
 */
import { dimOf } from "../../datasets/dataset.ts";
import { bitsPerDim, type MetricValue, metricValue } from "../../metrics/metric.ts";
import { type EvalSums, evaluate } from "../../metrics/evaluate.ts";
import type { Evaluation } from "./context.ts";

/** The likelihood metrics from the evaluation sums: exact where the model has it, else bounds. */
export function likelihoodMetrics(sums: EvalSums, dim: number): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {};
  const mean = (total: number) => total / sums.count;
  const n = sums.count; // recorded, since a suite may evaluate a slow model on fewer images
  if (sums.logProb !== null) {
    const nll = -mean(sums.logProb);
    metrics.nll_nats = metricValue("nll_nats", nll, { kind: "exact", n });
    metrics.bpd = metricValue("bpd", bitsPerDim(nll, dim), { kind: "exact", n });
  }
  if (sums.elbo !== null) {
    const negElbo = -mean(sums.elbo);
    metrics.elbo_nats = metricValue("elbo_nats", negElbo, { kind: "elbo", n });
    metrics.kl_nats = metricValue("kl_nats", mean(sums.kl!), { n });
    if (sums.iwae !== null) {
      const nll = -mean(sums.iwae);
      metrics.iwae_nats = metricValue("iwae_nats", nll, { kind: "iwae-k", k: sums.iwaeK, n });
    }
    if (sums.logProb === null) {
      const best = metrics.iwae_nats ?? metrics.elbo_nats;
      metrics.nll_nats = { ...best, unit: "nats" };
      metrics.bpd = { ...best, value: bitsPerDim(best.value, dim), unit: "bits/dim" };
    }
  }
  if (sums.reconBce !== null) {
    metrics.recon_bce = metricValue("recon_bce", mean(sums.reconBce));
    metrics.recon_mse = metricValue("recon_mse", sums.reconSquaredError! / (sums.count * dim));
  }
  return metrics;
}

export const likelihoodEvaluation: Evaluation = {
  name: "likelihood",
  metrics: ["nll_nats", "bpd", "elbo_nats", "kl_nats", "iwae_nats", "recon_bce", "recon_mse"],
  // metrics/evaluate.ts computes what the model's capabilities allow (possibly nothing).
  appliesTo: () => true,
  async run({ model, spec, dataset, kind, config, streams }) {
    const protocol = { evalCount: config.eval_count, iwaeK: config.iwae_k };
    const sums = await evaluate(model, spec, dataset, kind, protocol, streams.evaluation);
    return likelihoodMetrics(sums, dimOf(dataset.shape));
  },
};
