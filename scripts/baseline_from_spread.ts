/**
 * Rewrite a baseline from a results folder that holds several seeds of every run: expected
 * values from `--seed` (default 1), each tolerance 2 × the metric's standard deviation over the
 * seeds (reports/check.ts baselineFromSpread). The baseline's header (about, suite, dataset,
 * backend, rules) is kept. How benchmarks/baselines/ci-synthetic.json was made:
 *
 *   deno task bench --suite ci --dataset synthetic --backend cpu --seeds 1,2,3 --out /tmp/ci3
 *   deno run -A scripts/baseline_from_spread.ts --results /tmp/ci3 \
 *     --baseline benchmarks/baselines/ci-synthetic.json
 */
import { parseArgs } from "node:util";
import { writeJsonAtomic } from "../core/files.ts";
import { collectRuns } from "../reports/collect.ts";
import { baselineFromSpread, parseBaseline } from "../reports/check.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    results: { type: "string" },
    baseline: { type: "string" },
    seed: { type: "string", default: "1" },
  },
});
if (!values.results || !values.baseline) {
  console.error("usage: baseline_from_spread.ts --results DIR --baseline FILE [--seed N]");
  Deno.exit(2);
}
const header = parseBaseline(await Deno.readTextFile(values.baseline), values.baseline);
const { runs } = await collectRuns(values.results);
const baseline = baselineFromSpread(runs, header, Number(values.seed));
await writeJsonAtomic(values.baseline, baseline);
const count = baseline.runs.reduce((n, r) => n + Object.keys(r.metrics).length, 0);
console.log(`wrote ${values.baseline}: ${baseline.runs.length} runs, ${count} metrics`);
