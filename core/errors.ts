/**
 * An error caused by the user's input (a flag, a file, a folder). The CLI prints its message
 * as one line on stderr and exits with status 2, without a stack trace.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The message of any thrown value, as one line. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Throws one {@link UsageError} line `source: why`; never returns. */
export type Refusal = (why: string) => never;

/** The {@link Refusal} of the checks of one file or input named `source`. */
export function refusalFor(source: string): Refusal {
  return (why) => {
    throw new UsageError(`${source}: ${why}`);
  };
}
