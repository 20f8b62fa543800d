/**
 * The one argument helper of every command: flags parsed with `node:util` parseArgs, its errors
 * turned into one readable line naming the flag and what is allowed, and the integer and seed
 * parsers the commands share.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { oneLine, UsageError } from "../core/errors.ts";
import { MAX_SEED } from "../core/rng.ts";

/** What each flag of a command accepts, for the error line ("--time: expected …"). */
export type FlagHints = Record<string, string>;

/** The parsed flags of `config` (parseArgs' own result type). */
export type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** A value that parseArgs would take for a flag of its own ("-1", "-5", "-0.5"). */
const NEGATIVE_NUMBER = /^-\.?\d/;

/**
 * `--flag -5` → `--flag=-5` for flags that take a value, so that the flag's own check says what
 * is allowed, where parseArgs would call the value "ambiguous".
 */
function joinNegativeValues(args: string[], options: ParseArgsConfig["options"]): string[] {
  const takesValue = (arg: string) => {
    const name = arg.startsWith("--") ? arg.slice(2) : null;
    if (name !== null) return options?.[name]?.type === "string";
    return Object.values(options ?? {}).some((o) => o.type === "string" && `-${o.short}` === arg);
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (takesValue(arg) && i + 1 < args.length && NEGATIVE_NUMBER.test(args[i + 1])) {
      out.push(`${arg}=${args[++i]}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The flags of `options`, as a list for an error line: "--a, --b or -h/--help". */
function flagList(options: ParseArgsConfig["options"]): string {
  const names = Object.entries(options ?? {}).map(([name, o]) =>
    o.short ? `-${o.short}/--${name}` : `--${name}`
  );
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
}

/** parseArgs' error as one line that names the flag and what is allowed. */
function readable(
  command: string,
  error: unknown,
  config: ParseArgsConfig,
  hints: FlagHints,
): string {
  const code = (error as { code?: string }).code;
  const message = oneLine(error);
  const help = `see ${command} --help`;
  const flag = message.match(/'(-{1,2}[^' ]+)/)?.[1] ?? "";
  const name = flag.replace(/^-+/, "");
  const option = Object.entries(config.options ?? {}).find(([long, o]) =>
    long === name || o.short === name
  );
  const label = option ? `--${option[0]}` : flag;
  const hint = option && hints[option[0]] ? ` (expected ${hints[option[0]]})` : "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `${command}: unknown flag ${flag} (expected ${flagList(config.options)}; ${help})`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const word = message.match(/Unexpected argument '([^']*)'/)?.[1] ?? "";
    return `${command}: unexpected argument "${word}" (it takes only flags; ${help})`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(message)) {
      return `${label}: takes no value (it is a switch; ${help})`;
    }
    if (/ambiguous/.test(message)) {
      return `${label}: needs a value${hint}; a value starting with "-" is written ${label}=VALUE`;
    }
    return `${label}: needs a value${hint}`;
  }
  return `${command}: ${message} (${help})`;
}

/**
 * parseArgs with `config`, or a UsageError of one line naming the flag and what it accepts
 * (`hints`: flag name → what it expects, e.g. `{ seeds: "a list such as 1,2,3" }`).
 */
export function parseFlags<T extends ParseArgsConfig>(
  command: string,
  config: T,
  hints: FlagHints = {},
): Parsed<T> {
  const args = joinNegativeValues(config.args ?? [], config.options);
  try {
    return parseArgs({ ...config, args }) as Parsed<T>;
  } catch (error) {
    throw new UsageError(readable(command, error, config, hints));
  }
}

/** Options of {@link parseInteger}. */
export interface IntegerRange {
  min?: number;
  max?: number;
  /** What the number counts, for the error line ("a step count"). */
  what?: string;
}

/** A decimal integer in [min, max], or a UsageError naming the flag and the allowed range. */
export function parseInteger(text: string, flag: string, range: IntegerRange = {}): number {
  const { min = 0, max = Number.MAX_SAFE_INTEGER, what = "an integer" } = range;
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!/^-?\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value < min || value > max) {
    const allowed = max === Number.MAX_SAFE_INTEGER
      ? `an integer ≥ ${min}`
      : `an integer from ${min} to ${max}`;
    throw new UsageError(`${flag}: "${text}" is not ${what} (expected ${allowed})`);
  }
  return value;
}

/** Parse a seed list ("1,2" and repeated flags), or fail naming the flag. */
export function parseSeeds(values: string[], flag: string): number[] {
  return values.flatMap((value) => value.split(",")).map((text) => {
    const trimmed = text.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) > MAX_SEED) {
      throw new UsageError(
        `${flag}: "${text}" is not a seed (expected an integer from 0 to ${MAX_SEED})`,
      );
    }
    return Number(trimmed);
  });
}

/** Fail unless `path` is an existing folder: "--data-dir X: does not exist" / "is not a folder". */
export async function existingFolder(path: string, flag: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`${flag} ${path}: does not exist`);
    }
    throw new UsageError(`${flag} ${path}: cannot read it (${oneLine(error)})`);
  }
  if (!info.isDirectory) throw new UsageError(`${flag} ${path}: is not a folder`);
}
