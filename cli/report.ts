/** `report`: the tables, index.html and figures of a results folder (reports/report.ts). */
import { defaultReportDir, writeReport } from "../reports/report.ts";
import { parseFlags } from "./args.ts";

export const REPORT_USAGE = `Usage: deno task report [--results DIR] [--out DIR]

Reads every run under DIR/runs (default results/) and writes OUT (default DIR/report/, where
bench writes it too): tables.md (a ranked summary, then one table per question: likelihood,
sample quality, reconstruction, cost), tables.tex (one booktabs table per question, each fits
\\textwidth), tables.csv, index.html (self-contained, opens offline) and figures/*.png, *.svg.`;

/** The `report` command. Returns the exit status; bad input throws a UsageError. */
export async function reportCommand(args: string[]): Promise<number> {
  const values = parseFlags("report", {
    args,
    strict: true,
    allowPositionals: false,
    options: {
      results: { type: "string", default: "results" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }, { results: "a results folder", out: "a folder" }).values;
  if (values.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  const results = values.results!;
  const index = await writeReport(results, values.out ?? defaultReportDir(results));
  console.log(`genbench: wrote ${index}`);
  return 0;
}
