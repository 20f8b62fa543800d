/**
 * Per-run changes to a suite without editing it: `--set model.key=value` (a model option, or the
 * special key `steps`), `--steps N` / `--epochs N` for every model of the run, and `--budget`
 * (`images=N`: every model sees the same number of training images, steps = ⌈N / batch size⌉;
 * `seconds=S`: every model trains for the same wall time). Options are checked against the
 * model's option schema (models/options.ts).
 */
import { UsageError } from "../core/errors.ts";
import type { ModelOptions, ModelSpec } from "../models/model.ts";
import { checkOption, resolveOptions } from "../models/options.ts";
import { getModel } from "../models/registry.ts";
import type { Budget } from "./record.ts";
import type { Suite, SuiteEntry } from "./suites.ts";

/** What the command line changes in every run of a suite. */
export interface RunOverrides {
  /** `--set`: raw values by model, then key. */
  set?: Record<string, Record<string, string>>;
  /** `--steps`: the step budget of every model. */
  steps?: number;
  /** `--epochs`: passes over the training split, for every model. */
  epochs?: number;
  budget?: Budget;
}

/** A plan's resolved options and training length. */
export interface Resolved {
  options: ModelOptions;
  /** `null` under a seconds budget. */
  steps: number | null;
  budget: Budget | null;
}

/** Parse `--set` values `model.key=value` (syntax and model name; keys are checked per run). */
export function parseSetFlags(values: string[]): Record<string, Record<string, string>> {
  const set: Record<string, Record<string, string>> = {};
  for (const text of values) {
    const match = text.match(/^([^.=\s]+)\.([^=\s]+)=(.*)$/);
    if (!match) {
      throw new UsageError(
        `--set: "${text}" is not model.key=value (e.g. --set pixelcnn.learningRate=3e-4)`,
      );
    }
    const [, model, key, value] = match;
    getModel(model);
    (set[model] ??= {})[key] = value;
  }
  return set;
}

/** Parse `--budget images=N` or `--budget seconds=S`. */
export function parseBudget(text: string): Budget {
  const match = text.trim().match(/^(images|seconds)=(.+)$/);
  const value = match ? Number(match[2]) : NaN;
  if (match?.[1] === "images" && Number.isSafeInteger(value) && value >= 1) {
    return { images: value };
  }
  if (match?.[1] === "seconds" && Number.isFinite(value) && value > 0) return { seconds: value };
  throw new UsageError(
    `--budget: "${text}" is not a budget (expected images=N with an integer N ≥ 1, or ` +
      "seconds=S with S > 0)",
  );
}

/**
 * Check the overrides against the models of a run before anything starts: at most one of
 * `--steps`, `--epochs` and `--budget`, `--set` only for models of the run, and no per-model
 * `steps` under a budget shared by every model.
 */
export function checkOverrides(overrides: RunOverrides, models: string[]): void {
  const global = (["steps", "epochs", "budget"] as const).filter((k) => overrides[k] != null);
  if (global.length > 1) {
    throw new UsageError(`--${global[0]} and --${global[1]}: give one of them, not both`);
  }
  for (const [model, keys] of Object.entries(overrides.set ?? {})) {
    if (!models.includes(model)) {
      throw new UsageError(
        `--set ${model}.${Object.keys(keys)[0]}: ${model} is not in this run (it has ${
          models.join(", ")
        })`,
      );
    }
    if ("steps" in keys && overrides.budget) {
      throw new UsageError(
        `--set ${model}.steps: not with --budget (the budget gives every model the same ` +
          "training; drop one of them)",
      );
    }
  }
}

/**
 * Check the overrides against every entry of a run before any data is loaded: flags that
 * exclude each other, `--set` keys and values against each model's option schema.
 */
export function validateOverrides(suite: Suite, entries: SuiteEntry[], overrides: RunOverrides) {
  checkOverrides(overrides, entries.map((e) => e.model));
  // Any training-set size will do: only the options and the flags' values are checked here.
  for (const entry of entries) resolveEntry(suite, entry, getModel(entry.model), overrides, 60_000);
}

/** A positive integer step count from `--set model.steps`. */
function stepsValue(raw: string, where: string): number {
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${where}: expected an integer ≥ 1 (got "${raw}")`);
  }
  return value;
}

/**
 * The options and training length of one suite entry under the overrides: the model's defaults,
 * the entry's options (checked against the schema, errors naming the suite file), then `--set`
 * (errors naming the flag). Steps: `--set model.steps`, else `--steps`, `--epochs` or
 * `--budget`, else the entry's. `trainCount` (training images) is needed for epochs and budgets.
 */
export function resolveEntry(
  suite: Suite,
  entry: SuiteEntry,
  spec: ModelSpec,
  overrides: RunOverrides = {},
  trainCount?: number,
): Resolved {
  const source = suite.source ?? `suite ${suite.name}`;
  const set = { ...overrides.set?.[spec.name] };
  const setSteps = set.steps;
  delete set.steps;
  const options: ModelOptions = resolveOptions(
    spec.name,
    spec.options,
    entry.options ?? {},
    source,
  );
  for (const [key, raw] of Object.entries(set)) {
    const where = `--set ${spec.name}.${key}`;
    if (!spec.options[key]) {
      throw new UsageError(
        `${where}: ${spec.name} has no option "${key}" (expected one of steps, ${
          Object.keys(spec.options).join(", ")
        })`,
      );
    }
    options[key] = checkOption(spec.options[key], raw, where);
  }
  const batch = () => {
    if (trainCount === undefined) {
      throw new Error("resolveEntry: epochs and budgets need trainCount");
    }
    return Math.min(Number(options.batchSize), trainCount);
  };
  const budget = overrides.budget ?? null;
  let steps: number | null = entry.steps;
  if (setSteps !== undefined) steps = stepsValue(setSteps, `--set ${spec.name}.steps`);
  else if (overrides.steps !== undefined) steps = overrides.steps;
  else if (overrides.epochs !== undefined) {
    // An epoch is one pass over the permutation in whole batches (the runner's data order).
    steps = overrides.epochs * Math.floor(trainCount! / batch());
    if (steps < 1) throw new UsageError(`--epochs ${overrides.epochs}: less than one step`);
  } else if (budget && "images" in budget) steps = Math.ceil(budget.images / batch());
  else if (budget && "seconds" in budget) steps = null;
  return { options, steps, budget };
}
