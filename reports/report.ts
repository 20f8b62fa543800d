/**
 * `report`: reads every run under a results folder and writes `<out>/` with `tables.md`,
 * `tables.tex`, `tables.csv`, a self-contained `index.html` and `figures/*.{png,svg}`.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { ensureWritableDir, writeFileAtomic } from "../core/files.ts";
import { type CollectedRun, collectRuns, groupRuns } from "./collect.ts";
import { buildTables } from "./tables.ts";
import { tablesCsv, tablesMarkdown } from "./markdown.ts";
import { tablesLatex } from "./latex.ts";
import { buildCharts } from "./charts.ts";
import { chartJsSource, reportHtml } from "./html.ts";
import { writeFigures } from "./figures.ts";

/** The report's folder under a results folder: where `bench` and `report` both write it. */
export const REPORT_DIR = "report";

/** `<results>/report`: the default output of `report`, and what `bench` writes. */
export function defaultReportDir(resultsDir: string): string {
  return join(resultsDir, REPORT_DIR);
}

/** Which runs a report covers; every run when a field is absent. */
export interface ReportFilter {
  suite?: string;
  dataset?: string;
}

/** Options of `writeReport`. */
export interface ReportOptions {
  filter?: ReportFilter;
  /** False: SVG figures from genbench's own writer, no native canvas (for tests). */
  useCanvas?: boolean;
  /** Where one-line notes go (default: stderr). */
  say?: (line: string) => void;
}

/** Write the report of the runs under `resultsDir` to `outDir`. Returns the index.html path. */
export async function writeReport(
  resultsDir: string,
  outDir: string,
  options: ReportOptions = {},
): Promise<string> {
  const say = options.say ?? ((line: string) => console.error(`genbench: ${line}`));
  const { runs: all } = await collectRuns(resultsDir);
  const filter = options.filter ?? {};
  const runs: CollectedRun[] = all.filter((run) =>
    (filter.suite === undefined || run.suite === filter.suite) &&
    (filter.dataset === undefined || run.dataset === filter.dataset)
  );
  if (runs.length === 0) {
    throw new UsageError(
      `--results ${resultsDir}: no runs${filter.suite ? ` of suite ${filter.suite}` : ""}${
        filter.dataset ? ` on ${filter.dataset}` : ""
      } to report`,
    );
  }
  await ensureWritableDir(outDir, "--out");
  const groups = groupRuns(runs);
  const tables = buildTables(groups);
  const charts = buildCharts(tables, groups);
  await writeFileAtomic(join(outDir, "tables.md"), tablesMarkdown(tables));
  await writeFileAtomic(join(outDir, "tables.tex"), tablesLatex(tables));
  await writeFileAtomic(join(outDir, "tables.csv"), tablesCsv(tables));
  const figures = await writeFigures(charts, join(outDir, "figures"), {
    useCanvas: options.useCanvas,
  });
  if (figures.note) say(figures.note);
  const index = join(outDir, "index.html");
  await writeFileAtomic(
    index,
    await reportHtml({
      resultsDir,
      generatedAt: new Date().toISOString(),
      runs,
      groups,
      tables,
      charts,
      chartJs: await chartJsSource(),
      notes: figures.note ? [figures.note] : [],
    }),
  );
  return index;
}
