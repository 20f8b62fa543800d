/**
 * Metric values and their definitions. Every metric declares its unit and its direction;
 * every likelihood number carries its kind, so a table never mixes a bound and an exact value
 * without saying so.
 */

/** What kind of likelihood estimate a number is. */
export type LikelihoodKind = "exact" | "elbo" | "iwae-k" | "ais" | "parzen";

/**
 * Which way a metric improves. "none": statistics of spread, hyper-parameters and counts that
 * describe a result without ranking it (a smaller KID std is not a better model).
 */
export type Direction = "lower" | "higher" | "none";

/** One metric value as written to `metrics.json`. */
export interface MetricValue {
  value: number;
  unit: string;
  better: Direction;
  kind?: LikelihoodKind;
  /** For `iwae-k`: the k used. */
  k?: number;
  /**
   * For test-set averages: the number of test examples averaged — the whole test set, or one
   * seeded random subset shared by every model of the suite (see `subset_seed`).
   */
  n?: number;
  /** Where `n` is less than the whole test set: the seed of its random subset (datasets/subset.ts). */
  subset_seed?: number;
  /** Model samples (or real images, for a real-data row) the value was computed from. */
  samples?: number;
  /**
   * What the samples were compared with, e.g. "test-binary" (the static binarization of the
   * test set) or "test-grey" (pixel/255): numbers with different references are not comparable.
   */
  reference?: string;
  /** The Parzen kernel width σ chosen on the validation images. */
  sigma?: number;
  /** For a mean over translation directions: how many ordered domain pairs it averages. */
  pairs?: number;
}

/** The optional protocol fields of a {@link MetricValue}. */
export type MetricExtra = Omit<MetricValue, "value" | "unit" | "better">;

/** A metric's fixed properties. */
export interface MetricDefinition {
  name: string;
  unit: string;
  better: Direction;
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
  elbo_recon_nats: {
    name: "elbo_recon_nats",
    unit: "nats",
    better: "lower",
    description: "E_q[−log p(x|z)] per test example with one z ~ q(z|x): the ELBO's " +
      "reconstruction part (elbo_nats = elbo_recon_nats + kl_nats); not recon_bce, which " +
      "decodes the posterior mean",
  },
  recon_bce: {
    name: "recon_bce",
    unit: "nats",
    better: "lower",
    description: "reconstruction binary cross-entropy −log p(x|ẑ) per test image at the " +
      "posterior mean ẑ = E_q[z|x] (deterministic), for every encoder–decoder model (VAEs, ae, " +
      "aae) on the same n test images as recon_psnr",
  },
  recon_mse: {
    name: "recon_mse",
    unit: "per pixel",
    better: "lower",
    description: "mean squared error per pixel between a test image and the decoder mean at " +
      "the posterior mean (as recon_bce)",
  },
  recon_psnr: {
    name: "recon_psnr",
    unit: "dB",
    better: "higher",
    description: "peak signal-to-noise ratio 10·log10(1/MSE) of a test image and its " +
      "reconstruction (decoder mean at the posterior mean), averaged per image, data range 1",
  },
  recon_ssim: {
    name: "recon_ssim",
    unit: "unitless",
    better: "higher",
    description: "SSIM of a test image and its reconstruction (Wang et al. 2004: 11×11 " +
      "Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1), averaged per image",
  },
  active_units: {
    name: "active_units",
    unit: "count",
    better: "none",
    description: "latent dimensions u with Cov_x(E_q[z_u|x]) > 0.01 over the test images " +
      "(Burda et al. 2015); few active units signal posterior collapse",
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
  fid: {
    name: "fid",
    unit: "feature dist²",
    better: "lower",
    description: "Fréchet distance between Gaussians fitted to sample and test features of the " +
      "frozen LeNet (84-d, float64, unbiased covariances); its sha256 is recorded with it. " +
      "Against the grey test set (pixel/255, reference test-grey: grey models); fid_binary is " +
      "the same against the static binarization (binary models). `samples` records the sample " +
      "count; compare with the real-data row at the same count",
  },
  kid: {
    name: "kid",
    unit: "MMD²",
    better: "lower",
    description: "kernel distance: unbiased MMD² with the kernel (xᵀy/d + 1)³ between sample " +
      "and test features, mean over random subsets (100 of 1,000 by default)",
  },
  kid_std: {
    name: "kid_std",
    unit: "MMD²",
    better: "none",
    description: "standard deviation of the KID estimate over its subsets",
  },
  precision: {
    name: "precision",
    unit: "fraction",
    better: "higher",
    description: "improved precision (k = 3): fraction of samples inside the test features' " +
      "k-NN manifold (sample quality)",
  },
  recall: {
    name: "recall",
    unit: "fraction",
    better: "higher",
    description: "improved recall (k = 3): fraction of test images inside the samples' k-NN " +
      "manifold (coverage)",
  },
  is_score: {
    name: "is_score",
    unit: "classes",
    better: "higher",
    description: "IS-style score exp(E KL(p(y|x) ‖ p(y))) with the frozen LeNet, mean over 10 " +
      "splits (1 to the number of classes)",
  },
  is_score_std: {
    name: "is_score_std",
    unit: "classes",
    better: "none",
    description: "standard deviation of the IS-style score over its splits",
  },
  class_entropy: {
    name: "class_entropy",
    unit: "nats",
    better: "higher",
    description: "entropy of the histogram of the LeNet's predicted classes of the samples " +
      "(ln 10 ≈ 2.303 when balanced, 0 when collapsed to one class)",
  },
  label_accuracy: {
    name: "label_accuracy",
    unit: "fraction",
    better: "higher",
    description: "conditional models: fraction of samples the LeNet classifies as the label " +
      "they were generated for",
  },
  nn_train_ratio: {
    name: "nn_train_ratio",
    unit: "ratio",
    better: "higher",
    description: "memorization check: mean feature distance of samples to their nearest " +
      "training image over that of test images (≪ 1 means samples copy training images)",
  },
  parzen_ll: {
    name: "parzen_ll",
    unit: "nats",
    better: "higher",
    description: "Parzen-window log-likelihood of the real-valued test images (Goodfellow et al. " +
      "2014: Gaussian kernel on model samples, σ chosen on validation), kind parzen; a poor " +
      "estimator in 784 dimensions, for comparison with the literature only. Records its " +
      "`samples`, test images `n` and `sigma`; comparable only at equal counts, beside the " +
      "real-data row (training images as the samples)",
  },
  parzen_sigma: {
    name: "parzen_sigma",
    unit: "pixel/255",
    better: "none",
    description: "the Parzen kernel width σ chosen on the validation images (context for " +
      "parzen_ll)",
  },
  ais_ll: {
    name: "ais_ll",
    unit: "nats",
    better: "higher",
    description: "AIS estimate of log p(x) per real-valued test image under the generator with a " +
      "Gaussian observation model of fixed σ (Wu et al. 2017), kind ais: a stochastic lower bound",
  },
  ais_sigma: {
    name: "ais_sigma",
    unit: "pixel/255",
    better: "none",
    description: "the fixed observation noise σ of the AIS likelihood (context for ais_ll)",
  },
  completion_psnr: {
    name: "completion_psnr",
    unit: "dB",
    better: "higher",
    description: "PSNR 10·log10(1/MSE) of a whole image completed from K key patches (positions " +
      "hidden) against its source test image, per image capped at 100 dB, averaged, data range 1",
  },
  completion_ssim: {
    name: "completion_ssim",
    unit: "unitless",
    better: "higher",
    description: "SSIM (as recon_ssim) of a completion from K key patches against its source",
  },
  completion_mask_iou: {
    name: "completion_mask_iou",
    unit: "fraction",
    better: "higher",
    description: "IoU of the predicted mask of where the patches belong (thresholded at 0.5) " +
      "with the true union of the cut squares, averaged per image",
  },
  completion_label_acc: {
    name: "completion_label_acc",
    unit: "fraction",
    better: "higher",
    description: "fraction of completions the frozen LeNet reads as their source's digit (28×28)",
  },
  completion_fid: {
    name: "completion_fid",
    unit: "feature dist²",
    better: "lower",
    description: "FID (as fid) of completions of `samples` test images against the grey test " +
      "set, in the frozen LeNet's features",
  },
  params: {
    name: "params",
    unit: "count",
    better: "none",
    description: "number of trainable parameters",
  },
  ...translationMetrics(),
  ...captionMetrics(),
};

/**
 * The metrics of generation from held-out captions (metrics/captions.ts,
 * benchmarks/evaluations/text2image.ts): `n` test digits, one image per caption.
 */
function captionMetrics(): Record<string, MetricDefinition> {
  const defs: [string, string, Direction, string][] = [
    [
      "caption_digit_acc",
      "fraction",
      "higher",
      "fraction of images made from held-out " +
      "captions whose digit the frozen digit reader reads as captioned (metrics/domains; 28×28)",
    ],
    [
      "caption_domain_acc",
      "fraction",
      "higher",
      "fraction of images made from held-out " +
      "captions that the frozen domain namer puts in the captioned domain (28×28)",
    ],
    [
      "caption_match_acc",
      "fraction",
      "higher",
      "fraction of images made from held-out " +
      "captions with both the digit and the domain right (28×28)",
    ],
    [
      "caption_fid",
      "unitless",
      "lower",
      "FID of images made from held-out captions against " +
      "the captioned test digits through the captioned domains, in the digit reader's features",
    ],
    [
      "caption_fid_domain",
      "unitless",
      "lower",
      "mean over the 8 domains of caption_fid " +
      "within each domain (each needs more than 84 images)",
    ],
    [
      "caption_intra_fid",
      "unitless",
      "lower",
      "intra-FID (Miyato & Koyama 2018): mean over " +
      "the 80 (digit, domain) classes of caption_fid within each (each needs more than 84)",
    ],
    [
      "caption_diversity",
      "pixel rms",
      "none",
      "mean pairwise RMS pixel distance between " +
      "samples of one held-out caption, averaged over captions (0: one image per caption)",
    ],
    [
      "caption_diversity_real",
      "pixel rms",
      "none",
      "caption_diversity of real test images of " +
      "each caption's class (digit through domain): the scale caption_diversity is read against",
    ],
  ];
  return Object.fromEntries(
    defs.map(([name, unit, better, description]) => [name, { name, unit, better, description }]),
  );
}

/**
 * The translation metrics (benchmarks/evaluations/translation.ts, metrics/translation.ts): each a
 * mean over the ordered domain pairs scored (`pairs`) of the score of `n` test digits per pair.
 */
function translationMetrics(): Record<string, MetricDefinition> {
  const defs: [string, string, Direction, string][] = [
    [
      "translation_label_acc",
      "fraction",
      "higher",
      "label preservation: the frozen digit " +
      "reader's accuracy on translated test digits (metrics/domains; 28×28 only)",
    ],
    [
      "translation_domain_acc",
      "fraction",
      "higher",
      "target-domain accuracy: the frozen domain " +
      "namer's accuracy at naming the target domain of the translations (28×28 only)",
    ],
    [
      "translation_psnr",
      "dB",
      "higher",
      "PSNR of each translation against its ground truth " +
      "(the same digit through the target domain), data range 1, capped at 100 dB, per image",
    ],
    [
      "translation_ssim",
      "unitless",
      "higher",
      "SSIM of each translation against its ground " +
      "truth (11×11 Gaussian window σ = 1.5), per image",
    ],
    [
      "translation_cycle_l1",
      "per pixel",
      "lower",
      "mean absolute pixel error of the round " +
      "trip source → target → source against the source",
    ],
    [
      "translation_fid",
      "unitless",
      "lower",
      "FID of the translations against their ground " +
      "truth in the digit reader's 84 features (28×28, feature samples > 0)",
    ],
  ];
  return Object.fromEntries(
    defs.map(([name, unit, better, description]) => [name, { name, unit, better, description }]),
  );
}

/**
 * The references a feature metric compares samples with: each model's samples are compared with
 * the test set in the representation it learned. One metric name per reference, so that one
 * column never holds values against two references: `fid` (test-grey), `fid_binary` (test-binary).
 */
export type FeatureReferenceName = "test-grey" | "test-binary";

/** The metrics that compare samples with a reference set (a `_binary` twin each). */
export const REFERENCED_METRICS: readonly string[] = [
  "fid",
  "kid",
  "kid_std",
  "precision",
  "recall",
];

/** The name of `metric` against `reference` (`fid` → `fid_binary` for test-binary). */
export function referencedName(metric: string, reference: FeatureReferenceName): string {
  return reference === "test-binary" && REFERENCED_METRICS.includes(metric)
    ? `${metric}_binary`
    : metric;
}

for (const metric of REFERENCED_METRICS) {
  const grey = METRICS[metric];
  const name = referencedName(metric, "test-binary");
  METRICS[name] = {
    ...grey,
    name,
    description: `${metric} against the static binarization of the test set (reference ` +
      `test-binary: binary models' samples); not comparable with ${metric} (test-grey)`,
  };
}

/** A value for the metric `name`, with the unit and direction of its definition. */
export function metricValue(
  name: string,
  value: number,
  extra: MetricExtra = {},
): MetricValue {
  const definition = METRICS[name];
  if (!definition) throw new Error(`unknown metric "${name}" (add it to METRICS)`);
  return { value, unit: definition.unit, better: definition.better, ...extra };
}

/** bits per dimension from nats per example over D dimensions. */
export function bitsPerDim(nats: number, dims: number): number {
  return nats / (dims * Math.LN2);
}
