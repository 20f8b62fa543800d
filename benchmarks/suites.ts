/**
 * Suites as data: each is a JSON file, `benchmarks/suites/<name>.json` for the built-in ones
 * (`ci`: seconds per model on a CPU, for the regression gate; `quick`, the default: every model
 * within 15 minutes on a 2-core CPU; `paper`: published-scale budgets, meant for a GPU), or any
 * file given as `--suite FILE`. A file is validated field by field when loaded: a problem is one
 * line naming the file, the key and what was expected. Budgets are in optimisation steps at the
 * model's batch size; each entry's `why` says where its numbers come from.
 */
import { UsageError } from "../core/errors.ts";
import { MAX_BYTES } from "../core/files.ts";
import type { ModelOptions, ModelSpec } from "../models/model.ts";
import type { Budget } from "./record.ts";
import { getModel, MODELS } from "../models/registry.ts";
import { parseTrainingProtocol, type TrainingProtocol } from "./protocol.ts";
import ciSuite from "./suites/ci.json" with { type: "json" };
import quickSuite from "./suites/quick.json" with { type: "json" };
import paperSuite from "./suites/paper.json" with { type: "json" };

/** One model in a suite. */
export interface SuiteEntry {
  model: string;
  steps: number;
  /** Overrides of the model's default options (checked against its option schema). */
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
  /** A paper's training protocol: static binarization, schedule, early stopping (protocol.ts). */
  training?: TrainingProtocol;
  /** Why this budget and these options (free text, for the reader of the file). */
  why?: string;
}

/** Everything that determines one run. */
export interface RunPlan {
  suite: Suite;
  entry: SuiteEntry;
  spec: ModelSpec;
  seed: number;
  /** The model's defaults, overridden by the suite entry, then by `--set`. */
  options: ModelOptions;
  /** Training steps; `null` under a seconds budget. */
  steps: number | null;
  budget: Budget | null;
}

/** A named list of models with their budgets and the evaluation protocol. */
export interface Suite {
  name: string;
  description: string;
  /** The file the suite was read from (named in error messages). */
  source?: string;
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
  /** Why the suite is set up as it is (free text). */
  why?: string;
}

/** The number of test images an entry is evaluated on (`null` = all of them). */
export function evalCountOf(suite: Suite, entry: SuiteEntry): number | null {
  return entry.evalCount ?? suite.evalCount;
}

type Json = Record<string, unknown>;

/** The keys a suite file may hold, and what each expects (for the error of a bad one). */
const SUITE_KEYS: Record<string, string> = {
  name: "a name of letters, digits, '.', '_' or '-'",
  description: "a string",
  why: "a string",
  evalCount: "an integer ≥ 1 or null (all test images)",
  iwaeK: "an integer ≥ 0",
  sampleCount: "an integer ≥ 1",
  featureSamples: "an integer ≥ 0",
  kidSubsets: "an integer ≥ 0",
  parzenSamples: "an integer ≥ 0",
  reconCount: "an integer ≥ 0",
  aisCount: "an integer ≥ 0",
  entries: "a non-empty list of {model, steps, ...}",
};

const ENTRY_KEYS: Record<string, string> = {
  model: "the name of a registered model",
  steps: "an integer ≥ 1",
  options: "an object of model options (numbers, strings, booleans)",
  variant: "a name of letters, digits, '.', '_' or '-'",
  evalCount: "an integer ≥ 1",
  featureSamples: "an integer ≥ 0",
  training: "{binarization, schedule, earlyStopping} (benchmarks/protocol.ts)",
  why: "a string",
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Validate a parsed suite file. Every problem is one {@link UsageError} line:
 * `<file>: "<key>": expected <what> (got <value>)`. Options are checked against each model's
 * schema when the run is planned (benchmarks/overrides.ts), where `--set` joins them.
 */
export function parseSuite(raw: unknown, file: string): Suite {
  const fail = (key: string, expected: string, got?: unknown): never => {
    const value = got === undefined ? "" : ` (got ${JSON.stringify(got)?.slice(0, 60)})`;
    throw new UsageError(`${file}: "${key}": expected ${expected}${value}`);
  };
  const unknownKey = (key: string, known: Record<string, string>): never => {
    throw new UsageError(
      `${file}: "${key}": unknown key (expected one of ${Object.keys(known).join(", ")})`,
    );
  };
  const isObject = (v: unknown): v is Json =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(raw)) return fail("(the file)", "a JSON object", raw);
  const int = (obj: Json, key: string, where: string, min: number, expected: string) => {
    const value = obj[key];
    if (!Number.isSafeInteger(value) || (value as number) < min) fail(where, expected, value);
    return value as number;
  };
  for (const key of Object.keys(raw)) {
    if (!(key in SUITE_KEYS)) unknownKey(key, SUITE_KEYS);
  }
  if (typeof raw.name !== "string" || !NAME.test(raw.name)) fail("name", SUITE_KEYS.name, raw.name);
  if (typeof raw.description !== "string") fail("description", "a string", raw.description);
  if (raw.why !== undefined && typeof raw.why !== "string") fail("why", "a string", raw.why);
  if (raw.evalCount !== null) int(raw, "evalCount", "evalCount", 1, SUITE_KEYS.evalCount);
  int(raw, "iwaeK", "iwaeK", 0, SUITE_KEYS.iwaeK);
  int(raw, "sampleCount", "sampleCount", 1, SUITE_KEYS.sampleCount);
  for (const key of ["featureSamples", "kidSubsets", "parzenSamples", "reconCount", "aisCount"]) {
    if (raw[key] !== undefined) int(raw, key, key, 0, SUITE_KEYS[key]);
  }
  if (!Array.isArray(raw.entries) || raw.entries.length === 0) {
    fail("entries", SUITE_KEYS.entries, raw.entries);
  }
  const seen = new Set<string>();
  const entries = (raw.entries as unknown[]).map((entry, i) => {
    const at = (key: string) => `entries[${i}].${key}`;
    if (!isObject(entry)) return fail(`entries[${i}]`, "an object {model, steps, ...}", entry);
    for (const key of Object.keys(entry)) {
      if (!(key in ENTRY_KEYS)) unknownKey(at(key), ENTRY_KEYS);
    }
    if (typeof entry.model !== "string" || !MODELS.some((m) => m.name === entry.model)) {
      fail(at("model"), `one of ${MODELS.map((m) => m.name).join(", ")}`, entry.model);
    }
    int(entry, "steps", at("steps"), 1, ENTRY_KEYS.steps);
    if (
      entry.variant !== undefined &&
      (typeof entry.variant !== "string" || !NAME.test(entry.variant))
    ) {
      fail(at("variant"), ENTRY_KEYS.variant, entry.variant);
    }
    if (entry.evalCount !== undefined) {
      int(entry, "evalCount", at("evalCount"), 1, ENTRY_KEYS.evalCount);
    }
    if (entry.featureSamples !== undefined) {
      int(entry, "featureSamples", at("featureSamples"), 0, ENTRY_KEYS.featureSamples);
    }
    if (entry.why !== undefined && typeof entry.why !== "string") {
      fail(at("why"), "a string", entry.why);
    }
    if (entry.options !== undefined) {
      if (!isObject(entry.options)) fail(at("options"), ENTRY_KEYS.options, entry.options);
      for (const [key, value] of Object.entries(entry.options as Json)) {
        if (!["number", "string", "boolean"].includes(typeof value)) {
          fail(at(`options.${key}`), "a number, string or boolean", value);
        }
      }
    }
    if (entry.training !== undefined) {
      entry.training = parseTrainingProtocol(entry.training, `${file}: "${at("training")}"`);
    }
    const id = `${entry.model}\0${entry.variant ?? ""}`;
    if (seen.has(id)) {
      fail(
        at("variant"),
        `a variant name that tells this ${entry.model} entry from the earlier one`,
      );
    }
    seen.add(id);
    return entry as unknown as SuiteEntry;
  });
  return { ...(raw as unknown as Suite), entries, source: file };
}

/** The built-in suites, by name, as read from `benchmarks/suites/*.json`. */
export const SUITES: Record<string, Suite> = Object.fromEntries(
  ([["ci", ciSuite], ["quick", quickSuite], ["paper", paperSuite]] as const).map((
    [name, raw],
  ) => [name, parseSuite(raw, `benchmarks/suites/${name}.json`)]),
);

/** Read and validate a suite file (`--suite FILE`). */
export function readSuiteFile(path: string): Suite {
  let text: string;
  try {
    if (Deno.statSync(path).size > MAX_BYTES.runJson) {
      throw new UsageError(`--suite ${path}: over ${MAX_BYTES.runJson} bytes, refusing to read it`);
    }
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const why = error instanceof Deno.errors.NotFound ? "does not exist" : (error as Error).message;
    throw new UsageError(`--suite ${path}: cannot read it (${why})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not JSON (${(error as Error).message.split("\n")[0]})`);
  }
  return parseSuite(raw, path);
}

/**
 * The suite `--suite` names: a built-in one by name, or a JSON file (any value that ends in
 * `.json` or contains a path separator). Anything else is a one-line error.
 */
export function getSuite(nameOrFile: string): Suite {
  const suite = SUITES[nameOrFile];
  if (suite) return suite;
  if (nameOrFile.endsWith(".json") || /[\\/]/.test(nameOrFile)) return readSuiteFile(nameOrFile);
  throw new UsageError(
    `--suite: unknown suite "${nameOrFile}" (expected one of ${
      Object.keys(SUITES).join(", ")
    }, or a suite file ending in .json)`,
  );
}

/** The suite entry of `model` in `suite`, or a one-line error naming what it has. */
export function entryOf(suite: Suite, model: string): SuiteEntry {
  getModel(model);
  const entry = suite.entries.find((e) => e.model === model);
  if (!entry) {
    throw new UsageError(
      `--models: "${model}" has no budget in suite ${suite.name} (it has ${
        suite.entries.map((e) => e.model).join(", ")
      })`,
    );
  }
  return entry;
}
