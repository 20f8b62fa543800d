/**
 * Issue 17 in the reports: the real-data rows of both references make one floor row, the
 * binarized-reference feature metrics sit with sample quality in columns of their own, and a
 * seeded test subset is named as such (not as "the first n").
 */
import assert from "node:assert/strict";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { buildTables } from "../../reports/tables.ts";
import { tablesMarkdown } from "../../reports/markdown.ts";
import { type FakeRun, mv, tempDir, writeResults } from "./_fixtures.ts";

const base = { suite: "quick", dataset: "mnist", testCount: 10_000 };
const grey = (value: number) => mv(value, "lower", "feature dist²", { reference: "test-grey" });
const binary = (value: number) => mv(value, "lower", "feature dist²", { reference: "test-binary" });

const RUNS: FakeRun[] = [
  { ...base, model: "dcgan", seed: 1, metrics: { fid: grey(150) } },
  {
    ...base,
    model: "gan-mlp",
    seed: 1,
    metrics: {
      fid: grey(500),
      parzen_ll: mv(-40, "higher", "nats", {
        kind: "parzen",
        n: 1_000,
        subset_seed: 1,
        samples: 1_000,
        sigma: 0.28,
      }),
    },
  },
  {
    ...base,
    model: "nade",
    seed: 1,
    metrics: {
      fid_binary: binary(220),
      nll_nats: mv(147, "lower", "nats", { kind: "exact", n: 2_000, subset_seed: 1 }),
    },
  },
  { ...base, model: "made", seed: 1, metrics: { fid_binary: binary(280) } },
  {
    ...base,
    model: "real-data",
    variant: "test-binary",
    seed: 0,
    id: "real-data-test-binary-mnist",
    metrics: { fid_binary: binary(1.53) },
  },
  {
    ...base,
    model: "real-data",
    variant: "test-grey",
    seed: 0,
    id: "real-data-test-grey-mnist",
    metrics: { fid: grey(1.44), parzen_ll: mv(116, "higher", "nats", { kind: "parzen" }) },
  },
];

Deno.test("reports: one floor row from both real-data rows; fid and fid_binary apart; seeded subsets named", async () => {
  const [dir, cleanup] = await tempDir();
  try {
    await writeResults(dir, RUNS);
    const { runs } = await collectRuns(dir);
    // The protocol fields survive reading the results back.
    const gan = runs.find((r) => r.model === "gan-mlp")!;
    assert.deepEqual(
      [gan.metrics.parzen_ll.samples, gan.metrics.parzen_ll.sigma, gan.metrics.fid.reference],
      [1_000, 0.28, "test-grey"],
    );
    const [table] = buildTables(groupRuns(runs));
    const samples = table.sections.find((s) => s.question === "samples")!;
    assert.equal(samples.floor?.cells.fid.stats?.mean, 1.44);
    assert.equal(samples.floor?.cells.fid_binary.stats?.mean, 1.53);
    const md = tablesMarkdown([table]);
    assert.match(md, /FID \(binarized\)/);
    assert.match(md, /1,000 of 10,000 test images \(seeded random subset, seed 1\)/);
    assert.match(md, /2,000 of 10,000 test images \(seeded random subset, seed 1\)/);
    assert.doesNotMatch(md, /first [\d,]+ of/);
  } finally {
    await cleanup();
  }
});
