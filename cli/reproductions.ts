/**
 * `deno task reproductions`: renders the README's reproduction section from the records in
 * benchmarks/reproductions/ (`--check`: exit 1 when the README is out of date), or, with
 * `record <run dir>`, turns a finished run folder into a record.
 */
import { parseArgs } from "node:util";
import { cpus } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { oneLine, UsageError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import { MODELS } from "../models/registry.ts";
import type { PublishedReference } from "../models/model.ts";
import {
  checkRecord,
  readRecords,
  recordFileName,
  recordFromRun,
  RECORDS_DIR,
  type ReproductionRecord,
} from "../benchmarks/reproduction.ts";
import { renderSection, spliceReadme } from "../benchmarks/reproduction_table.ts";
import { getSuite } from "../benchmarks/suites.ts";

const USAGE = `deno task reproductions [--check]
    rewrite the README's reproduction section from ${RECORDS_DIR}/*.json
    (--check: change nothing, exit 1 if the README differs)
deno task reproductions record RUN_DIR [--reference N] [--reason TEXT] [--note TEXT]...
                                [--command CMD] [--reference-json FILE]
    write ${RECORDS_DIR}/<run id>.json from a finished run folder
    --reference N        which of the model's references (needed if several fit the dataset)
    --reason TEXT        one line: why genbench differs by more than 1 nat
    --note TEXT          a further protocol difference (repeatable)
    --command CMD        the command that made the run (default: rebuilt from run.json)
    --reference-json F   compare with a value the model's spec does not carry (e.g. a closed
                         form); the JSON of a PublishedReference, status "unconfirmed"`;

const README = "README.md";

const BUILT_IN_SUITES = ["ci", "quick", "paper"];

/**
 * The `bench` command that makes the run of `run` (its `run.json`): suite, model, dataset,
 * backend and seed. A suite that is not built in is named by its file under benchmarks/suites/.
 * The run's steps and options must be the suite entry's: a run made with overrides (`--set`,
 * `--steps`) needs its command given with `--command`.
 */
export function benchCommand(run: Record<string, unknown>, runDir: string): string {
  const provenance = run.provenance as { backend?: string; dataset?: { name?: string } };
  const config = run.config as { steps?: number; options?: Record<string, unknown> };
  const suiteName = String(run.suite);
  const suiteArg = BUILT_IN_SUITES.includes(suiteName)
    ? suiteName
    : `benchmarks/suites/${suiteName}.json`;
  const entry = getSuite(suiteArg).entries.find((e) =>
    e.model === run.model && (e.variant ?? null) === (run.variant ?? null)
  );
  const differs = !entry || entry.steps !== config?.steps ||
    Object.entries(entry.options ?? {}).some(([key, value]) => config?.options?.[key] !== value);
  if (differs) {
    throw new UsageError(
      `--command: ${join(runDir, "run.json")}'s steps or options are not suite ` +
        `${suiteName}'s entry for ${run.model} (made with --set or --steps?): give the command`,
    );
  }
  const out = dirname(dirname(runDir));
  const args = [
    "deno task bench",
    `--suite ${suiteArg}`,
    `--models ${run.model}`,
    `--dataset ${provenance?.dataset?.name}`,
    `--backend ${provenance?.backend}`,
    `--seed ${run.seed}`,
  ];
  if (out !== "results") args.push(`--out ${out}`);
  return args.join(" ");
}

/** The CPU's model name and core count (`--allow-sys=cpus`); the OS and arch where denied. */
function cpuInfo(): { cpu: string; cores: number } {
  try {
    const all = cpus();
    if (all.length > 0) return { cpu: all[0].model.trim(), cores: all.length };
  } catch { /* not permitted */ }
  return { cpu: `${Deno.build.os} ${Deno.build.arch}`, cores: navigator.hardwareConcurrency };
}

async function readJson(path: string, flag: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new UsageError(`${flag} ${path}: expected a readable JSON file (${oneLine(error)})`);
  }
}

async function record(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      reference: { type: "string" },
      reason: { type: "string" },
      note: { type: "string", multiple: true },
      command: { type: "string" },
      "reference-json": { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("record: expected one run folder");
  const runDir = relative(Deno.cwd(), resolve(positionals[0]));
  const run = await readJson(join(runDir, "run.json"), "record") as Record<string, unknown>;
  const spec = MODELS.find((m) => m.name === run.model);
  if (!spec) throw new UsageError(`${join(runDir, "run.json")}: unknown model "${run.model}"`);
  let referenceIndex: number | undefined;
  if (values.reference !== undefined) {
    referenceIndex = Number(values.reference);
    if (!Number.isInteger(referenceIndex) || referenceIndex < 0) {
      throw new UsageError(`--reference: expected a reference's index (0, 1, …)`);
    }
  }
  const reference = values["reference-json"] === undefined
    ? undefined
    : await readJson(values["reference-json"], "--reference-json") as PublishedReference;
  const made = await recordFromRun(runDir, {
    command: values.command ?? benchCommand(run, runDir),
    runPath: runDir.startsWith("..") ? resolve(runDir) : runDir,
    hardware: cpuInfo(),
    spec,
    referenceIndex,
    reference,
    reason: values.reason,
    notes: values.note,
  });
  // Checked as a reader will check it, before it is written.
  checkRecord(JSON.parse(JSON.stringify(made)), basename(runDir), MODELS);
  const path = join(RECORDS_DIR, recordFileName(made));
  try {
    await Deno.mkdir(RECORDS_DIR, { recursive: true });
    await writeFileAtomic(path, JSON.stringify(made, null, 2) + "\n");
  } catch (error) {
    throw new UsageError(`cannot write ${path} (${oneLine(error)})`);
  }
  console.error(
    `genbench: wrote ${path}: ${made.model} ${made.result.value.toFixed(2)} vs ` +
      `${made.reference.value} (${made.reference.paper}), gap ${made.gap.value.toFixed(2)}`,
  );
}

/** The README with its reproduction section rendered from the records. */
export async function renderedReadme(
  readme: string,
  recordsDir = RECORDS_DIR,
): Promise<string> {
  const records: ReproductionRecord[] = (await readRecords(recordsDir, MODELS)).map((r) =>
    r.record
  );
  return spliceReadme(readme, renderSection(records, MODELS), README);
}

async function render(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: "boolean" } } });
  const readme = await Deno.readTextFile(README);
  const next = await renderedReadme(readme);
  if (values.check) {
    if (next === readme) return 0;
    console.error(`genbench: ${README} is out of date: run deno task reproductions`);
    return 1;
  }
  // Written in place: an atomic rename would need write access to the whole project folder.
  if (next !== readme) await Deno.writeTextFile(README, next);
  console.error(
    `genbench: ${README}: reproduction section ${next === readme ? "unchanged" : "updated"}`,
  );
  return 0;
}

export async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "help" || args.includes("--help")) {
      console.log(USAGE);
      return 0;
    }
    if (args[0] === "record") {
      await record(args.slice(1));
      return 0;
    }
    return await render(args);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (
      error instanceof UsageError || error instanceof Deno.errors.NotCapable ||
      code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`genbench: ${oneLine(error)}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
