/**
 * The command line: dispatch to one file per command, and the one place where errors become an
 * exit status (bad input: one line on stderr, exit 2; Ctrl-C: 130; anything else: 1).
 */
import { oneLine, UsageError } from "../core/errors.ts";
import { RunInterrupted } from "../benchmarks/runner.ts";
import { benchCommand } from "./bench.ts";
import { checkCommand } from "./check.ts";
import { listCommand } from "./list.ts";
import { microCommand } from "./micro.ts";
import { reportCommand } from "./report.ts";
import { scoreCommand } from "./score.ts";
import { slurmCommand } from "./slurm.ts";
import { USAGE } from "./usage.ts";

/** Every command, by the name given to `deno run mod.ts <command>`. */
export const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  bench: benchCommand,
  report: reportCommand,
  check: checkCommand,
  slurm: slurmCommand,
  score: scoreCommand,
  "bench:micro": microCommand,
  list: listCommand,
};

/**
 * Reword Deno's "Requires write access to "X", run again with the --allow-write flag" (which a
 * `deno task` user cannot act on) into what to do: the tasks grant the project folder and the
 * paths named by the command's flags (cli/launch.ts), so the path must be named by one of them.
 * Any other message is returned unchanged.
 */
export function permissionHint(message: string): string {
  const match = message.match(
    /Requires (read|write|env|run|ffi|sys) access to "([^"]*)", run again with the --allow-\w+ flag/,
  );
  if (!match) return message;
  const [text, kind, what] = match;
  return message.replace(
    text,
    `not permitted: ${kind} access to "${what}"; a deno task may use only the project folder ` +
      "and the paths its flags name (--data-dir, --out, --results, --baseline, the image sets " +
      "of score), so name it with one of them (see README, Permissions)",
  );
}

/** The CLI entry point. Returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      console.log(USAGE);
      return 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) {
      throw new UsageError(
        `unknown command "${command}" (expected ${Object.keys(COMMANDS).join(", ")} or help)`,
      );
    }
    return await run(rest);
  } catch (error) {
    if (error instanceof RunInterrupted) {
      console.error(`genbench: ${oneLine(error)}`);
      return error.code; // 130 after Ctrl-C, 143 after SIGTERM
    }
    if (error instanceof UsageError || error instanceof Deno.errors.NotCapable) {
      console.error(`genbench: ${permissionHint(oneLine(error))}`);
      return 2;
    }
    console.error(`genbench: internal error: ${oneLine(error)}`);
    if (Deno.env.get("GENBENCH_DEBUG")) console.error(error);
    else console.error("genbench: set GENBENCH_DEBUG=1 to see the stack trace");
    return 1;
  }
}
