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
  },
  quick: {
    name: "quick",
    description: "every model on a small budget, full test set: ≤ 15 minutes on a 2-core CPU",
    entries: [
      { model: "bernoulli", steps: EPOCH },
      { model: "vae-mlp", steps: 600 },
      { model: "gan-mlp", steps: 300 },
      // Adversarial conv family at width 8 (every layer ⅛ of the canonical 64-wide DCGAN), batch
      // 32: ≈ 0.15 / 0.38 / 0.2 s CPU per step for dcgan / cgan / infogan on the 2-core box
      // (.notes/5.md), ≈ 2 min together.
      { model: "dcgan", steps: 250, options: { batchSize: 32, width: 8 }, variant: "w8-b32" },
      { model: "cgan", steps: 120, options: { batchSize: 32, width: 8 }, variant: "w8-b32" },
      { model: "infogan", steps: 200, options: { batchSize: 32, width: 8 }, variant: "w8-b32" },
      // Autoregressive family: CPU step times measured in .notes/3.md (2-core box).
      { model: "nade", steps: 40, options: { batchSize: 32 } },
      { model: "made", steps: 40, options: { batchSize: 64 } },
      {
        model: "pixelcnn",
        steps: 40,
        options: { batchSize: 16, channels: 16, blocks: 3 },
        variant: "16ch-3blocks",
      },
      {
        model: "gated-pixelcnn",
        steps: 30,
        options: { batchSize: 16, channels: 16, layers: 2 },
        variant: "16ch-2layers",
      },
      // Latent-variable family (wasm, 2-core box): ≈ 0.35 s CPU per batch-64 step (aae ≈ 0.55),
      // ELBO on the 10,000 test images ≈ 20 s; ≈ 3.5 min together. `ae` needs the runner to
      // skip sampling for models without the `sample` capability first.
      { model: "vae-conv", steps: 200, options: { batchSize: 64 } },
      { model: "beta-vae", steps: 80, options: { batchSize: 64 } },
      { model: "aae", steps: 60, options: { batchSize: 64 } },
      { model: "cvae", steps: 80, options: { batchSize: 64 } },
    ],
    evalCount: null,
    iwaeK: 0,
    sampleCount: 64,
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
    ],
    evalCount: null,
    iwaeK: 5000,
    sampleCount: 100,
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
