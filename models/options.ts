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
  /** The allowed values of a string option. */
  choices?: readonly string[];
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
  if (spec.type === "string") {
    return spec.choices ? `one of ${spec.choices.join(", ")}` : "a string";
  }
  const noun = spec.type === "int" ? "an integer" : "a number";
  const bounds = [
    spec.min !== undefined ? `≥ ${spec.min}` : "",
    spec.above !== undefined ? `> ${spec.above}` : "",
    spec.max !== undefined ? `≤ ${spec.max}` : "",
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
