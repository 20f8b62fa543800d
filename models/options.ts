/**
 * Model options as data: each model declares a typed schema (type, range, default, meaning) in
 * one place. The same schema fills in defaults, validates suite entries and `--set` overrides
 * (one line naming the key and what was expected), and is shown by `list`.
 */
import { UsageError } from "../core/errors.ts";

/** Resolved hyperparameters; each model declares its keys in its {@link OptionSchema}. */
export type ModelOptions = Record<string, number | string | boolean>;

/** One option a model reads. */
export interface OptionSpec {
  type: "int" | "number" | "string" | "boolean";
  default: number | string | boolean;
  /** Inclusive lower bound of a number (default: none). */
  min?: number;
  /** Inclusive upper bound of a number (default: none). */
  max?: number;
  /** Lower bound that the value must exceed (e.g. a learning rate > 0). */
  above?: number;
  /** Upper bound that the value must stay under (e.g. Adam's β1 < 1). */
  below?: number;
  /** The allowed values (of a string, or of a number such as `bits`: 1 or 8). */
  choices?: readonly (string | number)[];
  /** What the option means, in a few words (shown by `list`). */
  doc: string;
}

/** A model's options by key. */
export type OptionSchema = Record<string, OptionSpec>;

/** The defaults of a schema. */
export function defaultOptions(schema: OptionSchema): ModelOptions {
  return Object.fromEntries(Object.entries(schema).map(([key, spec]) => [key, spec.default]));
}

/** What values an option accepts, in words ("an integer ≥ 1", "one of a, b"). */
export function describeOption(spec: OptionSpec): string {
  if (spec.type === "boolean") return "true or false";
  if (spec.choices) return `one of ${spec.choices.join(", ")}`;
  if (spec.type === "string") return "a string";
  const noun = spec.type === "int" ? "an integer" : "a number";
  const bounds = [
    spec.min !== undefined ? `≥ ${spec.min}` : "",
    spec.above !== undefined ? `> ${spec.above}` : "",
    spec.max !== undefined ? `≤ ${spec.max}` : "",
    spec.below !== undefined ? `< ${spec.below}` : "",
  ].filter(Boolean);
  return bounds.length ? `${noun} ${bounds.join(" and ")}` : noun;
}

/**
 * The value of one option checked against its spec; `raw` may be a string from the command
 * line. Throws a one-line UsageError starting with `where` (e.g. "--set pixelcnn.steps").
 */
export function checkOption(
  spec: OptionSpec,
  raw: unknown,
  where: string,
): number | string | boolean {
  const fail = (): never => {
    throw new UsageError(`${where}: expected ${describeOption(spec)} (got ${JSON.stringify(raw)})`);
  };
  if (spec.type === "boolean") {
    if (raw === true || raw === "true") return true;
    if (raw === false || raw === "false") return false;
    return fail();
  }
  if (spec.type === "string") {
    if (typeof raw !== "string" || (spec.choices && !spec.choices.includes(raw))) fail();
    return raw as string;
  }
  const value = typeof raw === "number"
    ? raw
    : typeof raw === "string" && raw.trim() !== ""
    ? Number(raw)
    : NaN;
  if (!Number.isFinite(value)) fail();
  if (spec.type === "int" && !Number.isInteger(value)) fail();
  if (spec.min !== undefined && value < spec.min) fail();
  if (spec.max !== undefined && value > spec.max) fail();
  if (spec.above !== undefined && !(value > spec.above)) fail();
  if (spec.below !== undefined && !(value < spec.below)) fail();
  if (spec.choices && !spec.choices.includes(value)) fail();
  return value;
}

/**
 * A model's resolved options: its defaults overridden by `overrides` (a suite entry, `--set`),
 * each checked. An unknown key is a one-line UsageError naming the known ones.
 */
export function resolveOptions(
  model: string,
  schema: OptionSchema,
  overrides: ModelOptions,
  where: string,
): ModelOptions {
  const resolved = defaultOptions(schema);
  for (const [key, raw] of Object.entries(overrides)) {
    const spec = schema[key];
    if (!spec) {
      throw new UsageError(
        `${where}: ${model} has no option "${key}" (expected one of ${
          Object.keys(schema).join(", ")
        })`,
      );
    }
    resolved[key] = checkOption(spec, raw, `${where} ${model}.${key}`);
  }
  return resolved;
}

/** The type of one option's value as `create` reads it. */
type OptionValue<T extends OptionSpec> = T["type"] extends "int" | "number" ? number
  : T["type"] extends "boolean" ? boolean
  : string;

/** A schema's option values, typed by their specs (declare schemas `satisfies OptionSchema`). */
export type OptionValues<S extends OptionSchema> = { [K in keyof S]: OptionValue<S[K]> };

/**
 * The options `create` reads: every key of `schema` taken from `options` (its default when
 * absent) and checked, so a model never sees an unchecked value, however it was built. A bad
 * value is one line: "<model>: option <key>: expected …". Keys outside the schema are ignored
 * here; {@link resolveOptions} refuses them where users give options.
 */
export function readOptions<S extends OptionSchema>(
  model: string,
  schema: S,
  options: ModelOptions,
): OptionValues<S> {
  const values: ModelOptions = {};
  for (const [key, spec] of Object.entries(schema)) {
    const raw = options[key];
    values[key] = raw === undefined
      ? spec.default
      : checkOption(spec, raw, `${model}: option ${key}`);
  }
  return values as OptionValues<S>;
}

/** The usual `batchSize` option: training images per step. */
export function batchSizeOption(value: number): OptionSpec & { type: "int" } {
  return { type: "int", default: value, min: 1, doc: "training images per step" };
}

/** The usual `learningRate` option: Adam's step size, > 0. */
export function learningRateOption(
  value: number,
  doc = "Adam step size",
): OptionSpec & { type: "number" } {
  return { type: "number", default: value, above: 0, doc };
}

/** The `bits` option of a model of binary pixels: 1, the only choice. */
export function binaryBitsOption(model: string): OptionSpec & { type: "int" } {
  return {
    type: "int",
    default: 1,
    choices: [1],
    doc: `bits per pixel (${model} models binary pixels)`,
  };
}

/** The two options every trained model reads: `batchSize` and Adam's `learningRate`. */
export function trainingOptions(batchSize: number, learningRate: number, doc?: string) {
  return {
    batchSize: batchSizeOption(batchSize),
    learningRate: learningRateOption(learningRate, doc),
  };
}
