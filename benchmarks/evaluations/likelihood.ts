/**
 * The test-set likelihoods (metrics/evaluate.ts): exact log p(x) where the model has it, else
 * −ELBO and −IWAE-k, and the ELBO's parts. `nll_nats`/`bpd` carry the best estimate the model
 * offers with its kind; every average records how many test images it covers.
 */
import { dimOf } from "../../datasets/dataset.ts";
import { bitsPerDim, type MetricValue, metricValue } from "../../metrics/metric.ts";
import { type EvalSums, evaluate } from "../../metrics/evaluate.ts";
import { type Evaluation, subsetFields } from "./context.ts";

/** The likelihood metrics from the evaluation sums: exact where the model has it, else bounds. */
export function likelihoodMetrics(sums: EvalSums, dim: number): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {};
  const mean = (total: number) => total / sums.count;
  // Recorded, with the seed where the suite evaluates a seeded subset of the test set.
  const on = subsetFields(sums.subset);
  if (sums.logProb !== null) {
    const nll = -mean(sums.logProb);
    metrics.nll_nats = metricValue("nll_nats", nll, { kind: "exact", ...on });
    metrics.bpd = metricValue("bpd", bitsPerDim(nll, dim), { kind: "exact", ...on });
  }
  if (sums.elbo !== null) {
    const negElbo = -mean(sums.elbo);
    metrics.elbo_nats = metricValue("elbo_nats", negElbo, { kind: "elbo", ...on });
    metrics.kl_nats = metricValue("kl_nats", mean(sums.kl!), on);
    if (sums.iwae !== null) {
      const nll = -mean(sums.iwae);
      metrics.iwae_nats = metricValue("iwae_nats", nll, { kind: "iwae-k", k: sums.iwaeK, ...on });
    }
    if (sums.logProb === null) {
      const best = metrics.iwae_nats ?? metrics.elbo_nats;
      metrics.nll_nats = { ...best, unit: "nats" };
      metrics.bpd = { ...best, value: bitsPerDim(best.value, dim), unit: "bits/dim" };
    }
  }
  // The ELBO's reconstruction term (one sampled z per image), named apart from recon_bce (the
  // posterior-mean reconstruction of every encoder–decoder model, ./reconstruction.ts).
  if (sums.reconBce !== null) {
    metrics.elbo_recon_nats = metricValue("elbo_recon_nats", mean(sums.reconBce), on);
  }
  return metrics;
}

export const likelihoodEvaluation: Evaluation = {
  name: "likelihood",
  metrics: ["nll_nats", "bpd", "elbo_nats", "kl_nats", "iwae_nats", "elbo_recon_nats"],
  // metrics/evaluate.ts computes what the model's capabilities allow (possibly nothing).
  appliesTo: () => true,
  async run({ model, spec, dataset, kind, config, streams }) {
    const protocol = { evalCount: config.eval_count, iwaeK: config.iwae_k };
    const sums = await evaluate(model, spec, dataset, kind, protocol, streams.evaluation);
    return likelihoodMetrics(sums, dimOf(dataset.shape));
  },
};
