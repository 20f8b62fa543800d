/**
 * Metric values and their definitions. Every metric declares its unit and its direction;
 * every likelihood number carries its kind, so a table never mixes a bound and an exact value
 * without saying so.
 */

/** What kind of likelihood estimate a number is. */
export type LikelihoodKind = "exact" | "elbo" | "iwae-k" | "ais" | "parzen";

/** One metric value as written to `metrics.json`. */
export interface MetricValue {
  value: number;
  unit: string;
  better: "lower" | "higher";
  kind?: LikelihoodKind;
  /** For `iwae-k`: the k used. */
  k?: number;
}

/** A metric's fixed properties. */
export interface MetricDefinition {
  name: string;
  unit: string;
  better: "lower" | "higher";
  description: string;
  /** True for times and speeds: they differ run to run and are excluded from determinism checks. */
  timing?: boolean;
}

/** Every metric genbench knows, by name. Later metrics add one entry here. */
export const METRICS: Record<string, MetricDefinition> = {
  nll_nats: {
    name: "nll_nats",
    unit: "nats",
    better: "lower",
    description: "test negative log-likelihood per example: the best estimate the model offers, " +
      "labelled with its kind (exact, or an upper bound such as −ELBO)",
  },
  bpd: {
    name: "bpd",
    unit: "bits/dim",
    better: "lower",
    description: "nll_nats / (D · ln 2), same kind as nll_nats",
  },
  elbo_nats: {
    name: "elbo_nats",
    unit: "nats",
    better: "lower",
    description: "−ELBO per test example (an upper bound on the NLL)",
  },
  iwae_nats: {
    name: "iwae_nats",
    unit: "nats",
    better: "lower",
    description: "−(importance-weighted bound with k samples) per test example, kind iwae-k " +
      "(an upper bound on the NLL that tightens as k grows)",
  },
  kl_nats: {
    name: "kl_nats",
    unit: "nats",
    better: "lower",
    description: "KL(q(z|x) ‖ p(z)) per test example, the ELBO's regularisation part",
  },
  recon_bce: {
    name: "recon_bce",
    unit: "nats",
    better: "lower",
    description: "reconstruction binary cross-entropy E_q[−log p(x|z)] per test example " +
      "(the ELBO's reconstruction part)",
  },
  recon_mse: {
    name: "recon_mse",
    unit: "per pixel",
    better: "lower",
    description: "mean squared error per pixel between a test image and its reconstruction mean",
  },
  train_seconds: {
    name: "train_seconds",
    unit: "s",
    better: "lower",
    description: "wall time of training",
    timing: true,
  },
  train_img_per_s: {
    name: "train_img_per_s",
    unit: "img/s",
    better: "higher",
    description: "training images per second (steps × batch size / train_seconds)",
    timing: true,
  },
  sample_img_per_s: {
    name: "sample_img_per_s",
    unit: "img/s",
    better: "higher",
    description: "samples per second when drawing the sample grid",
    timing: true,
  },
  params: {
    name: "params",
    unit: "count",
    better: "lower",
    description: "number of trainable parameters",
  },
};

/** A value for the metric `name`, with the unit and direction of its definition. */
export function metricValue(
  name: string,
  value: number,
  extra: { kind?: LikelihoodKind; k?: number } = {},
): MetricValue {
  const definition = METRICS[name];
  if (!definition) throw new Error(`unknown metric "${name}" (add it to METRICS)`);
  return { value, unit: definition.unit, better: definition.better, ...extra };
}

/** bits per dimension from nats per example over D dimensions. */
export function bitsPerDim(nats: number, dims: number): number {
  return nats / (dims * Math.LN2);
}
