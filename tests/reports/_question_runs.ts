/**
 * A results folder shaped like the quick suite on MNIST (every metric genbench writes, three
 * seeds, long model names, a likelihood averaged over a subset): the report's layout tests use
 * it to check widths, ranking and notes on realistic input. Values are made up but of the
 * magnitudes real runs give.
 */
import { type FakeRun, mv } from "./_fixtures.ts";

// Directions as old runs recorded them ("lower" for params and spreads): the report knows better.
const TEST = 10_000;

function exact(nll: number, n = TEST) {
  return {
    nll_nats: mv(nll, "lower", "nats", { kind: "exact", n }),
    bpd: mv(nll / (784 * Math.LN2), "lower", "bits/dim", { kind: "exact", n }),
  };
}

function vae(iwae: number, elbo: number) {
  const k = { kind: "iwae-k" as const, k: 10, n: TEST };
  return {
    nll_nats: mv(iwae, "lower", "nats", k),
    iwae_nats: mv(iwae, "lower", "nats", k),
    bpd: mv(iwae / (784 * Math.LN2), "lower", "bits/dim", k),
    elbo_nats: mv(elbo, "lower", "nats", { kind: "elbo", n: TEST }),
    kl_nats: mv(25.3, "lower", "nats", { n: TEST }),
    recon_bce: mv(elbo - 25.3, "lower", "nats"),
    recon_mse: mv(0.0312, "lower", "per pixel"),
    recon_psnr: mv(15.06, "higher", "dB"),
    recon_ssim: mv(0.6123, "higher", "unitless"),
    active_units: mv(14, "lower", "count"),
  };
}

function features(fid: number, seed: number) {
  return {
    fid: mv(fid + seed, "lower", "feature dist²"),
    kid: mv(0.01234 * fid / 10, "lower", "MMD²"),
    kid_std: mv(0.000812, "lower", "MMD²"),
    precision: mv(0.7123 - fid / 1000, "higher", "fraction"),
    recall: mv(0.4512, "higher", "fraction"),
    is_score: mv(8.123, "higher", "classes"),
    is_score_std: mv(0.0912, "lower", "classes"),
    class_entropy: mv(2.2712, "higher", "nats"),
    nn_train_ratio: mv(1.0123, "higher", "ratio"),
  };
}

function cost(params: number, seconds: number) {
  return {
    params: mv(params, "lower", "count"),
    train_seconds: mv(seconds, "lower", "s"),
    train_img_per_s: mv(60_000 * 3 / seconds, "higher", "img/s"),
    sample_img_per_s: mv(12_345, "higher", "img/s"),
  };
}

/** The models of the fabricated quick suite, with their metrics for a seed. */
const MODELS: {
  model: string;
  variant?: string;
  family: string;
  metrics: (s: number) => FakeRun["metrics"];
}[] = [
  {
    model: "bernoulli",
    family: "autoregressive",
    metrics: (s) => ({ ...exact(205.76 + s / 100), ...cost(784, 1.2) }),
  },
  {
    model: "nade",
    family: "autoregressive",
    metrics: (s) => ({ ...exact(98.12 + s / 10, 2_000), ...cost(785_284, 812.3) }),
  },
  {
    model: "pixelcnn",
    family: "autoregressive",
    metrics: (s) => ({ ...exact(84.41 + s / 10, 2_000), ...cost(1_234_567, 2_345.6) }),
  },
  {
    model: "vae-mlp",
    family: "latent-variable",
    metrics: (s) => ({
      ...vae(95.43 + s / 10, 101.2 + s / 10),
      ...features(31.2, s),
      ...cost(1_068_820, 310.2),
    }),
  },
  {
    model: "vae-conv",
    variant: "β = 4, σ-prior",
    family: "latent-variable",
    metrics: (s) => ({
      ...vae(112.3 + s / 10, 118.7),
      ...features(45.6, s),
      ...cost(2_345_678, 512.9),
    }),
  },
  {
    model: "gan-mlp",
    family: "adversarial",
    metrics: (s) => ({
      ...features(12.34, s),
      parzen_ll: mv(210.3 + s, "higher", "nats", { kind: "parzen" }),
      parzen_sigma: mv(0.2, "lower", "pixel/255"),
      ...cost(1_460_000, 400.1),
    }),
  },
  {
    model: "dcgan",
    variant: "with-a-long-descriptive-name",
    family: "adversarial",
    metrics: (s) => ({ ...features(8.91, s), ...cost(3_576_577, 1_200.5) }),
  },
  {
    model: "cgan",
    family: "adversarial",
    metrics: (s) => ({
      ...features(10.5, s),
      label_accuracy: mv(0.9123, "higher", "fraction"),
      ...cost(1_500_000, 420.7),
    }),
  },
];

/** Three seeds of every model. */
export function questionRuns(): FakeRun[] {
  return MODELS.flatMap(({ model, variant, family, metrics }) =>
    [1, 2, 3].map((seed) => ({
      model,
      variant: variant ?? null,
      family,
      seed,
      suite: "quick",
      dataset: "mnist",
      testCount: TEST,
      metrics: metrics(seed),
      png: seed === 1,
    }))
  );
}
