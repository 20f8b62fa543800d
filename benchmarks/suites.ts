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
