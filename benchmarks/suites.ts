/**
 * The suites. `ci`: seconds per model on a CPU, for the regression gate. `quick` (the default):
 * every registered model, within 15 minutes on a 2-core CPU machine. `paper`: the budgets a
 * paper would use, meant for a GPU. Budgets are in optimisation steps at the model's batch size.
 */
import { UsageError } from "../core/errors.ts";
import type { ModelOptions } from "../models/model.ts";

/** One model in a suite. */
export interface SuiteEntry {
  model: string;
  steps: number;
  /** Overrides of the model's default options. */
  options?: ModelOptions;
  /** Names a configuration narrower than the canonical one; shown in every report row. */
  variant?: string;
  /**
   * Test images this model is evaluated on, where the suite's count would take too long on a
   * CPU (a model whose exact likelihood costs a forward pass per pixel, say). Recorded in run.json.
   */
  evalCount?: number;
  /** Overrides the suite's `featureSamples` (e.g. 0 where sampling is slow on a CPU). */
  featureSamples?: number;
}

/** The number of test images an entry is evaluated on (`null` = all of them). */
export function evalCountOf(suite: Suite, entry: SuiteEntry): number | null {
  return entry.evalCount ?? suite.evalCount;
}

/** A named list of models with their budgets and the evaluation protocol. */
export interface Suite {
  name: string;
  description: string;
  entries: SuiteEntry[];
  /** Test images evaluated (the first N of the test set); `null` = all of them. */
  evalCount: number | null;
  /** k of the importance-weighted bound for models with an ELBO; 0 = not computed. */
  iwaeK: number;
  /** Samples drawn for the sample grid and `sample_img_per_s`. */
  sampleCount: number;
  /** Samples scored by the feature-based metrics (FID, KID, …); 0 or absent = not computed. */
  featureSamples?: number;
  /** KID subsets (of up to 1,000 rows each). */
  kidSubsets?: number;
  /** Samples of the Parzen-window estimate of adversarial models; 0 = not computed. */
  parzenSamples?: number;
  /** Test images reconstructed for PSNR/SSIM/active units by encoder–decoder models. */
  reconCount?: number;
  /** Test images whose log p(x) AIS estimates for GAN generators (Gaussian σ = 0.1); 0 = none. */
  aisCount?: number;
}

// One MNIST epoch at batch 128 is 50,000 / 128 ≈ 390 steps.
const EPOCH = 390;

export const SUITES: Record<string, Suite> = {
  ci: {
    name: "ci",
    description: "a few dozen steps per model on 500 test images: seconds on a CPU",
    entries: [
      { model: "bernoulli", steps: 40, options: { batchSize: 32 } },
      { model: "vae-mlp", steps: 40, options: { batchSize: 32 } },
      { model: "gan-mlp", steps: 20, options: { batchSize: 32 } },
      { model: "made", steps: 10, options: { batchSize: 32 } },
    ],
    evalCount: 500,
    iwaeK: 10,
    sampleCount: 16,
    featureSamples: 0,
    kidSubsets: 0,
    parzenSamples: 0,
    reconCount: 100,
    aisCount: 0,
  },
  quick: {
    name: "quick",
    description: "every model on a small budget, full test set: ≤ 15 minutes on a 2-core CPU",
    entries: [
      { model: "bernoulli", steps: EPOCH },
      { model: "vae-mlp", steps: 600 },
      // Batch 64 halves the cost of the slowest model of the suite on a CPU (~1.5 min on wasm).
      { model: "gan-mlp", steps: 300, options: { batchSize: 64 } },
      // Adversarial conv family at width 8 (every layer ⅛ of the canonical 64-wide DCGAN),
      // batch 32: ≈ 0.21 / 0.57 / 0.36 s CPU per step for dcgan / cgan / infogan (cpu backend,
      // .notes/5.md), ≈ 2.5 min together. At the canonical lr 2e-4 a few hundred steps do not
      // even learn the black background; G at 1e-3 does, with D kept at 2e-4 and one-sided label
      // smoothing (0.1) so that D does not win outright (D(G(z)) → 0.01 with both at 1e-3).
      {
        model: "dcgan",
        steps: 250,
        options: {
          batchSize: 32,
          width: 8,
          learningRate: 0.001,
          learningRateD: 0.0002,
          labelSmoothing: 0.1,
        },
        variant: "w8-b32-ttur-ls0.1",
      },
      {
        model: "cgan",
        steps: 80,
        options: {
          batchSize: 32,
          width: 8,
          learningRate: 0.001,
          learningRateD: 0.0002,
          labelSmoothing: 0.1,
        },
        variant: "w8-b32-ttur-ls0.1",
      },
      {
        model: "infogan",
        steps: 150,
        options: {
          batchSize: 32,
          width: 8,
          learningRate: 0.001,
          learningRateD: 0.0002,
          labelSmoothing: 0.1,
        },
        variant: "w8-b32-ttur-ls0.1",
      },
      // Autoregressive family (issue 3): ~4 min of CPU training together; see the README.
      {
        model: "nade",
        steps: 80,
        options: { batchSize: 32, learningRate: 0.005 },
        evalCount: 2000,
      },
      { model: "made", steps: 150, options: { batchSize: 32, learningRate: 0.01 } },
      {
        model: "pixelcnn",
        steps: 80,
        options: { batchSize: 16, channels: 16, blocks: 3, learningRate: 0.005 },
        variant: "16ch-3blocks",
        evalCount: 2000,
      },
      {
        model: "gated-pixelcnn",
        steps: 60,
        options: { batchSize: 16, channels: 8, layers: 2, learningRate: 0.005 },
        variant: "8ch-2layers",
        evalCount: 2000,
      },
      // Latent-variable family (wasm, 2-core box): ≈ 0.35 s CPU per batch-64 step (aae ≈ 0.55),
      // ELBO on the 10,000 test images ≈ 20 s; ≈ 3.5 min together (ae ≈ 20 s).
      { model: "vae-conv", steps: 200, options: { batchSize: 64 } },
      { model: "beta-vae", steps: 80, options: { batchSize: 64 } },
      { model: "aae", steps: 60, options: { batchSize: 64 } },
      { model: "cvae", steps: 80, options: { batchSize: 64 } },
      { model: "ae", steps: 60, options: { batchSize: 64 } },
    ],
    evalCount: null,
    iwaeK: 0,
    sampleCount: 64,
    featureSamples: 2_000,
    kidSubsets: 10,
    parzenSamples: 1_000,
    reconCount: 2_000,
    aisCount: 0,
  },
  paper: {
    name: "paper",
    description: "published-scale budgets, full test set, IWAE-5000: meant for a GPU",
    entries: [
      { model: "bernoulli", steps: 10 * EPOCH },
      { model: "vae-mlp", steps: 1000 * EPOCH },
      { model: "gan-mlp", steps: 200 * EPOCH },
      // DCGAN-family runs on MNIST converge in ~25 epochs at batch 128 (Radford et al. train
      // 1–25); InfoGAN's codes take longer to disentangle (Chen et al.: ~50 epochs).
      { model: "dcgan", steps: 25 * EPOCH },
      { model: "cgan", steps: 25 * EPOCH },
      { model: "infogan", steps: 50 * EPOCH },
      { model: "nade", steps: 100 * EPOCH },
      { model: "made", steps: 100 * EPOCH },
      { model: "pixelcnn", steps: 50 * EPOCH },
      { model: "gated-pixelcnn", steps: 50 * EPOCH },
      // Conv VAEs converge in ~100 epochs at batch 128 (the β-VAE and AAE papers train about
      // as long).
      { model: "vae-conv", steps: 100 * EPOCH },
      { model: "beta-vae", steps: 100 * EPOCH },
      { model: "aae", steps: 100 * EPOCH },
      { model: "cvae", steps: 100 * EPOCH },
      { model: "ae", steps: 50 * EPOCH },
    ],
    evalCount: null,
    iwaeK: 5000,
    sampleCount: 100,
    featureSamples: 10_000,
    kidSubsets: 100,
    parzenSamples: 10_000,
    reconCount: 10_000,
    aisCount: 100,
  },
};

/** The suite called `name`, or a one-line error. */
export function getSuite(name: string): Suite {
  const suite = SUITES[name];
  if (!suite) {
    throw new UsageError(
      `--suite: unknown suite "${name}" (expected one of ${Object.keys(SUITES).join(", ")})`,
    );
  }
  return suite;
}
