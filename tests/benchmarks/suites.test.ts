/**
 * The regression gate sees every model: the ci suite holds every registered model, and the
 * committed ci baseline checks every entry of it.
 */
import assert from "node:assert/strict";
import { MODELS } from "../../models/registry.ts";
import { SUITES } from "../../benchmarks/suites.ts";
import { parseBaseline } from "../../reports/check.ts";

const BASELINE = new URL("../../benchmarks/baselines/ci-synthetic.json", import.meta.url);

Deno.test("every registered model has an entry in the ci suite", () => {
  const ci = new Set(SUITES.ci.entries.map((e) => e.model));
  const missing = MODELS.map((m) => m.name).filter((name) => !ci.has(name));
  assert.deepEqual(missing, [], `add these models to benchmarks/suites/ci.json: ${missing}`);
});

Deno.test("the ci baseline checks every entry of the ci suite, with at least one metric each", async () => {
  const baseline = parseBaseline(await Deno.readTextFile(BASELINE), BASELINE.pathname);
  assert.equal(baseline.suite, "ci");
  const covered = new Set(
    baseline.runs.filter((r) => Object.keys(r.metrics).length > 0)
      .map((r) => `${r.model}/${r.variant ?? ""}`),
  );
  const missing = SUITES.ci.entries.map((e) => `${e.model}/${e.variant ?? ""}`)
    .filter((key) => !covered.has(key));
  assert.deepEqual(missing, [], "regenerate the baseline: scripts/baseline_from_spread.ts");
});
