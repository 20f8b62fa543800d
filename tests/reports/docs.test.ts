/**
 * The documentation says what the program does: README's Output and Reports sections and the
 * `help` text name every file a run folder can hold and the folder's name pattern, the random
 * streams, and the one report folder that `bench` and `report` both write.
 */
import assert from "node:assert/strict";
import { RUN_FILES } from "../../benchmarks/record.ts";
import { runId, type RunPlan } from "../../benchmarks/plan.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { USAGE } from "../../cli/usage.ts";
import { REPORT_USAGE } from "../../cli/report.ts";
import { LATENT_VIEWS } from "../../benchmarks/views/latent.ts";
import { GENERATOR_VIEWS } from "../../benchmarks/views/generator.ts";
import { defaultReportDir, REPORT_DIR } from "../../reports/report.ts";

const ROOT = new URL("../../", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));

/** A `## ` section of the README, up to the next one. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no section ${title}`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

const PATTERN = "<model>[-<variant>]-<dataset>-seed<N>-<YYYYMMDDTHHMMSSZ>";

Deno.test("docs: README's Output and help name every file of a run folder and its name pattern", () => {
  const output = section("Output");
  const files = [...Object.values(RUN_FILES), ...LATENT_VIEWS, ...GENERATOR_VIEWS];
  for (const file of files) {
    assert.ok(output.includes(file), `README's Output does not name ${file}`);
    assert.ok(USAGE.includes(file), `help does not name ${file}`);
  }
  assert.ok(output.includes(`runs/${PATTERN}/`), "README's Output: not the run folder's pattern");
  assert.ok(USAGE.includes(`runs/${PATTERN}/`), "help: not the run folder's pattern");
  // The pattern is what the program makes (the stamp is bench's start time, UTC, to the second).
  const plan = { spec: { name: "vae-conv" }, entry: { variant: "beta-4" }, seed: 3 };
  const id = runId(plan as unknown as RunPlan, { name: "mnist" } as Dataset, "20261129T123244Z");
  assert.equal(id, "vae-conv-beta-4-mnist-seed3-20261129T123244Z");
});

Deno.test("docs: README and help list the random streams the runner derives", async () => {
  // Every Stream.derive(…, "name") outside bench:micro must be in the README; the per-run
  // streams (derived from the run's seed, in train_state.ts) in help too.
  const derived = new Set<string>();
  const perRun = new Set<string>();
  for (const folder of ["benchmarks", "metrics", "models", "reports", "cli"]) {
    for await (const path of walk(new URL(`${folder}/`, ROOT))) {
      if (path.endsWith("micro.ts")) continue;
      const text = await Deno.readTextFile(path);
      for (const match of text.matchAll(/Stream\.derive\(([^,]+), "([a-z0-9-]+)"\)/g)) {
        derived.add(match[2]);
        if (path.endsWith("train_state.ts")) perRun.add(match[2]);
      }
    }
  }
  assert.ok(perRun.size >= 6, [...perRun].join(", "));
  const reproducibility = section("Data and reproducibility");
  for (const name of derived) {
    assert.ok(reproducibility.includes(`\`${name}\``), `README does not name the stream ${name}`);
  }
  for (const name of perRun) assert.ok(USAGE.includes(name), `help does not name ${name}`);
});

Deno.test("docs: bench and report write the same report folder, and say so", () => {
  assert.equal(REPORT_DIR, "report");
  assert.equal(defaultReportDir("results"), "results/report");
  assert.ok(USAGE.includes(`<out>/${REPORT_DIR}/`));
  assert.ok(REPORT_USAGE.includes(`DIR/${REPORT_DIR}/`));
  assert.ok(section("Reports").includes(`\`<out>/${REPORT_DIR}/\``));
  assert.ok(section("Output").includes(`  ${REPORT_DIR}/ `));
  assert.doesNotMatch(README + USAGE + REPORT_USAGE, /report-<suite>|report-\$\{/);
});

async function* walk(dir: URL): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walk(url);
    else if (entry.name.endsWith(".ts")) yield url.pathname;
  }
}
