/**
 * `deno task reproductions`: the command a record states is rebuilt from run.json only when the
 * run is its suite entry as written (a run made with overrides needs `--command`), and bad input
 * is one line with exit status 2.
 */
import assert from "node:assert/strict";
import { benchCommand, main } from "../../cli/reproductions.ts";
import { UsageError } from "../../core/errors.ts";
import { getSuite } from "../../benchmarks/suites.ts";

function runOf(suite: string, model: string, overrides: Record<string, unknown> = {}) {
  const entry = getSuite(suite).entries.find((e) => e.model === model)!;
  return {
    suite,
    model,
    variant: entry.variant ?? null,
    seed: 3,
    config: { steps: entry.steps, options: { ...entry.options, ...overrides } },
    provenance: { backend: "cpu", dataset: { name: "mnist" } },
  };
}

Deno.test("the bench command is rebuilt from run.json for a run that is its suite entry", () => {
  assert.equal(
    benchCommand(runOf("ci", "made"), "results/ci/runs/made-mnist-seed3-x"),
    "deno task bench --suite ci --models made --dataset mnist --backend cpu --seed 3 --out results/ci",
  );
  assert.equal(
    benchCommand(runOf("ci", "made"), "results/runs/made-mnist-seed3-x"),
    "deno task bench --suite ci --models made --dataset mnist --backend cpu --seed 3",
  );
  // A suite that is not built in: named by its file.
  const fromFile = { ...runOf("benchmarks/suites/reproduce.json", "made"), suite: "reproduce" };
  assert.match(
    benchCommand(fromFile, "results/runs/x"),
    /^deno task bench --suite benchmarks\/suites\/reproduce\.json --models made /,
  );
});

Deno.test("a run made with overrides needs its command given", () => {
  const run = runOf("ci", "made", { learningRate: 0.5 });
  run.config.options.batchSize = 7;
  assert.throws(() => benchCommand(run, "results/runs/x"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^--command: .*made with --set or --steps\?\): give the command$/);
    return true;
  });
  const longer = runOf("ci", "made");
  longer.config.steps += 1;
  assert.throws(() => benchCommand(longer, "results/runs/x"), UsageError);
});

Deno.test("bad input is one line and exit status 2", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    assert.equal(await main(["record"]), 2);
    assert.equal(await main(["record", "/nonexistent/run"]), 2);
    assert.equal(await main(["--bogus"]), 2);
  } finally {
    console.error = original;
  }
  assert.equal(errors.length, 3);
  assert.match(errors[0], /^genbench: record: expected one run folder$/);
  assert.match(errors[1], /^genbench: record .*run\.json: expected a readable JSON file/);
  for (const line of errors) assert.doesNotMatch(line, /\n/);
});
