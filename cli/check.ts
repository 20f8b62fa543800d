/** `check`: the regression gate's command line (the comparison is reports/check.ts). */
import { oneLine, UsageError } from "../core/errors.ts";
import { MAX_BYTES, readTextFileLimited, writeJsonAtomic } from "../core/files.ts";
import { collectRuns } from "../reports/collect.ts";
import {
  checkRuns,
  checkTable,
  newBaseline,
  parseBaseline,
  updatedBaseline,
} from "../reports/check.ts";
import { parseFlags } from "./args.ts";

export const CHECK_USAGE =
  `Usage: deno task check --baseline FILE [--results DIR] [--update-baseline]

Compares the metrics of every run under DIR (default results/) with the baseline FILE and prints
one line per metric: ok (within tolerance), better, worse (beyond tolerance) or missing. Exits 1
when a metric is worse or missing, 0 otherwise. --update-baseline rewrites FILE from the results
(keeping each metric's tolerance; creating FILE if it does not exist), on purpose only.`;

/** The `check` command. Returns the exit status (0 passed, 1 failed); bad input throws. */
export async function checkCommand(args: string[]): Promise<number> {
  const values = parseFlags("check", {
    args,
    strict: true,
    allowPositionals: false,
    options: {
      baseline: { type: "string" },
      results: { type: "string", default: "results" },
      "update-baseline": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }, { baseline: "a baseline JSON file", results: "a results folder" }).values;
  if (values.help) {
    console.log(CHECK_USAGE);
    return 0;
  }
  if (!values.baseline) throw new UsageError("check: --baseline FILE is required");
  const file = values.baseline;
  const update = values["update-baseline"]!;
  let text: string | null = null;
  try {
    text = await readTextFileLimited(file, MAX_BYTES.baseline, "--baseline");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (!(update && error instanceof Deno.errors.NotFound)) {
      throw new UsageError(`--baseline ${file}: cannot read it (${oneLine(error)})`);
    }
  }
  const { runs } = await collectRuns(values.results!);
  const baseline = text === null ? newBaseline(runs, file) : parseBaseline(text, file);
  if (update) {
    const updated = updatedBaseline(runs, baseline);
    await writeJsonAtomic(file, updated);
    const count = updated.runs.reduce((n, r) => n + Object.keys(r.metrics).length, 0);
    console.log(
      `genbench: ${text === null ? "wrote" : "rewrote"} ${file} (${updated.runs.length} runs, ` +
        `${count} metrics)`,
    );
    return 0;
  }
  const result = checkRuns(runs, baseline);
  console.log(
    `genbench check: ${values.results} against ${file} (suite ${baseline.suite}, dataset ` +
      `${baseline.dataset}, backend ${baseline.backend})\n`,
  );
  console.log(checkTable(result));
  return result.passed ? 0 : 1;
}
