import assert from "node:assert/strict";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { seedStats } from "../../reports/stats.ts";
import { buildTables, type Table } from "../../reports/tables.ts";
import { tablesCsv, tablesMarkdown } from "../../reports/markdown.ts";
import { tablesLatex } from "../../reports/latex.ts";
import { type FakeRun, mv, tempDir, writeResults } from "./_fixtures.ts";
import { questionRuns } from "./_question_runs.ts";

// Student t quantiles t(0.975, df) from a printed table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
const T_TABLE: Record<number, number> = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 10: 2.228 };

Deno.test("seedStats: mean, sample std and the Student-t 95% interval match a printed t table", () => {
  for (const [df, t] of Object.entries(T_TABLE)) {
    const n = Number(df) + 1;
    // Values 0, 1, ..., n−1: mean (n−1)/2, sample variance n(n+1)/12.
    const values = Array.from({ length: n }, (_, i) => i);
    const stats = seedStats(values);
    const std = Math.sqrt((n * (n + 1)) / 12);
    assert.equal(stats.n, n);
    assert.ok(Math.abs(stats.mean - (n - 1) / 2) < 1e-12);
    assert.ok(Math.abs(stats.std - std) < 1e-12);
    assert.ok(Math.abs(stats.ci95 - (t * std) / Math.sqrt(n)) < 1e-3 * stats.ci95, `df ${df}`);
  }
  const one = seedStats([3]);
  assert.equal(one.mean, 3);
  assert.ok(Number.isNaN(one.std) && Number.isNaN(one.ci95));
});

const RUNS: FakeRun[] = [
  // alpha: exact NLL 10, 12, 14 → mean 12, std 2, 95% CI 12 ± 4.303·2/√3 = [7.032, 16.968].
  ...[10, 12, 14].map((nll, i) => ({
    model: "alpha",
    seed: i + 1,
    png: i === 0,
    metrics: {
      nll_nats: mv(nll, "lower", "nats", { kind: "exact" }),
      score: mv(5 + i, "higher", "points"),
      dist: mv(3, "lower", "units"),
      params: mv(100, "lower", "count"),
      train_seconds: mv(2 + i, "lower", "s"),
    },
  })),
  // beta: an IWAE-5 bound 11, 11.5 (nll_nats repeats iwae_nats, as the runner writes it).
  ...[11, 11.5].map((nll, i) => ({
    model: "beta",
    seed: i + 1,
    startedAt: `2026-01-02T00:00:0${i}.000Z`,
    metrics: {
      nll_nats: mv(nll, "lower", "nats", { kind: "iwae-k", k: 5 }),
      iwae_nats: mv(nll, "lower", "nats", { kind: "iwae-k", k: 5 }),
      elbo_nats: mv(nll + 2, "lower", "nats", { kind: "elbo" }),
      score: mv(4, "higher", "points"),
      dist: mv(2 + i, "lower", "units"),
      params: mv(200, "lower", "count"),
    },
  })),
  // An older run of beta seed 1: superseded by the newer one, never counted.
  {
    model: "beta",
    seed: 1,
    id: "beta-synthetic-seed1-old",
    startedAt: "2025-12-31T00:00:00.000Z",
    metrics: { iwae_nats: mv(99, "lower", "nats", { kind: "iwae-k", k: 5 }) },
  },
  { model: "gamma", seed: 1, status: "diverged", metrics: { params: mv(5, "lower", "count") } },
  { model: "gamma", seed: 2, status: "interrupted" },
];

/** The tables of `runs`, written to and collected from a temporary folder, given to `fn`. */
async function withTables(runs: FakeRun[], fn: (tables: Table[]) => Promise<void> | void) {
  const [dir, cleanup] = await tempDir();
  try {
    await writeResults(dir, runs);
    const { runs: collected } = await collectRuns(dir);
    await fn(buildTables(groupRuns(collected)));
  } finally {
    await cleanup();
  }
}

/** The Markdown of one question's table (from its heading to the next). */
function sectionOf(markdown: string, title: string): string {
  const start = markdown.indexOf(`### ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const end = markdown.indexOf("\n### ", start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

function markdownRow(markdown: string, model: string): string[] {
  const line = markdown.split("\n").find((l) => l.startsWith(`| ${model} |`));
  assert.ok(line, `no Markdown row for ${model}`);
  return line.split(" | ").map((c) => c.replace(/^\| |\s*\|$/g, "").trim());
}

function cellOf(markdown: string, model: string, title: string): string {
  const header = markdown.split("\n").find((l) => l.startsWith("| Model |"))!.split(" | ");
  const index = header.findIndex((h) => h.includes(title));
  assert.ok(index > 0, `no column ${title} in ${header.join(" | ")}`);
  return markdownRow(markdown, model)[index];
}

Deno.test("tables: values are the hand-computed mean ± std [95% CI] over seeds", async () => {
  await withTables(RUNS, (tables) => {
    assert.equal(tables.length, 1);
    const table = tables[0];
    const alpha = table.rows.find((r) => r.label === "alpha")!;
    const stats = alpha.cells.nll_nats.stats!;
    assert.equal(stats.n, 3);
    assert.ok(Math.abs(stats.mean - 12) < 1e-12);
    assert.ok(Math.abs(stats.std - 2) < 1e-12);
    assert.ok(Math.abs(stats.ci95 - (4.303 * 2) / Math.sqrt(3)) < 1e-3);

    const md = tablesMarkdown(tables);
    const likelihood = sectionOf(md, "Likelihood");
    assert.equal(cellOf(likelihood, "alpha", "NLL"), "12.00 ± 2.00 [7.03, 16.97]");
    // beta seed 1 counts once, from its newest run: 11 and 11.5, t(1) = 12.706.
    assert.equal(cellOf(likelihood, "beta", "NLL"), "11.25 ± 0.35 [8.07, 14.43]");
    assert.equal(cellOf(likelihood, "beta", "−ELBO"), "13.25 ± 0.35 [10.07, 16.43]");
    const other = sectionOf(md, "Other metrics");
    assert.equal(cellOf(other, "alpha", "score"), "**6.000 ± 1.000** [3.516, 8.484]");
    assert.equal(cellOf(other, "beta", "dist"), "**2.500 ± 0.707** [−3.853, 8.853]");
    assert.match(md, /- gamma: 1 diverged, 1 interrupted/);
    assert.match(md, /beta-synthetic-seed1-old` \(superseded/);
  });
});

Deno.test("tables: one table per question, in order; likelihoods ranked within their kind only", async () => {
  await withTables(questionRuns(), (tables) => {
    const [table] = tables;
    assert.deepEqual(table.sections.map((s) => s.question), [
      "likelihood",
      "samples",
      "reconstruction",
      "cost",
    ]);
    const likelihood = table.sections[0];
    // Exact first (pixelcnn 84.6 < nade 98.3 < bernoulli 205.8), then the IWAE bounds, then
    // Parzen: vae-mlp's bound (95.6) is lower than nade's exact NLL but never ranked above it.
    assert.deepEqual(
      likelihood.blocks.map((b) => [b.title, b.rows.map((r) => r.label)]),
      [
        ["Exact likelihood", ["pixelcnn", "nade", "bernoulli"]],
        ["Importance-weighted bound (k = 10)", ["vae-mlp", "vae-conv (β = 4, σ-prior)"]],
        ["Parzen-window estimate", ["gan-mlp"]],
      ],
    );
    const samples = table.sections[1];
    assert.equal(samples.rankedBy?.metric, "fid");
    assert.deepEqual(samples.blocks[0].rows.map((r) => r.label), [
      "dcgan (with-a-long-descriptive-name)",
      "cgan",
      "gan-mlp",
      "vae-mlp",
      "vae-conv (β = 4, σ-prior)",
    ]);
    // The columns have readable names with units.
    const titles = table.sections.flatMap((s) => s.columns.map((c) => c.title));
    for (const title of ["NLL (nats) ↓", "FID ↓", "KID std", "Train time (s) ↓", "Params"]) {
      assert.ok(titles.includes(title), `${title} not in ${titles.join("; ")}`);
    }
    assert.ok(!titles.some((t) => /_/.test(t)), `snake_case heading in ${titles.join("; ")}`);
  });
});

Deno.test("tables: no bold on spreads, counts and settings (direction none)", async () => {
  await withTables(questionRuns(), (tables) => {
    const [table] = tables;
    for (const section of table.sections) {
      for (const column of section.columns) {
        const bold = section.blocks.flatMap((b) => b.rows).some((r) => r.cells[column.id]?.best);
        const none = ["params", "kid_std", "is_score_std", "parzen_sigma", "active_units"];
        if (none.includes(column.metric)) {
          assert.equal(column.better, "none", column.metric);
          assert.ok(!bold, `${column.metric} has a bold cell`);
        }
      }
    }
    const cost = sectionOf(tablesMarkdown(tables), "Cost");
    assert.equal(cellOf(cost, "bernoulli", "Params"), "784");
    assert.match(cellOf(cost, "bernoulli", "Train time"), /^\*\*1\.2\*\*/);
  });
});

Deno.test("tables: a likelihood averaged over part of the test set says so in every format", async () => {
  await withTables(questionRuns(), (tables) => {
    const md = sectionOf(tablesMarkdown(tables), "Likelihood");
    assert.match(cellOf(md, "nade", "NLL"), /¹$/);
    assert.doesNotMatch(cellOf(md, "bernoulli", "NLL"), /¹$/);
    assert.match(md, /¹ first 2,000 of 10,000 test images\./);
    const tex = tablesLatex(tables);
    assert.match(tex, /\\textsuperscript\{a\}first 2,000 of 10,000 test images\./);
    const nade = tex.split("\n").find((l) => l.trim().startsWith("nade &"))!;
    assert.match(nade, /\\textsuperscript\{a\}/);
    const csv = tablesCsv(tables).split("\n");
    assert.ok(csv.some((l) => /^quick,mnist,nade,.*,likelihood,nll_nats,exact,.*,2000,/.test(l)));
  });
});

/** Numbers in a table row, normalised across Markdown and LaTeX spellings. */
function numbers(cells: string[]): string[] {
  return cells.join(" ").replace(/\{,\}/g, ",").replace(/−/g, "-").replace(/[¹²³]/g, "")
    .match(/-?\d[\d,]*(\.\d+)?/g) ?? [];
}

Deno.test("tables: the LaTeX tables hold the Markdown tables' numbers, with Unicode as LaTeX", async () => {
  await withTables(questionRuns(), (tables) => {
    const md = tablesMarkdown(tables);
    const tex = tablesLatex(tables);
    for (const model of ["bernoulli", "vae-mlp", "cgan"]) {
      const mdCells = md.split("\n").filter((l) => l.startsWith(`| ${model} |`))
        .flatMap((l) => markdownRow(l, model).slice(2)); // model, seeds
      const texCells = tex.split("\n").filter((l) => l.trim().startsWith(`${model} &`))
        .flatMap((l) => l.replace(/\\\\\s*$/, "").split(" & ").slice(1)); // model
      assert.deepEqual(numbers(texCells), numbers(mdCells), model);
    }
    assert.doesNotMatch(tex, /\?/, "a character LaTeX could not take became ?");
    assert.match(tex, /vae-conv \(\$\\beta\$ = 4, \$\\sigma\$-prior\)/);
    assert.match(tex, /Parzen \$\\sigma\$/);
    assert.ok([...tex].every((c) => c.charCodeAt(0) < 128), "non-ASCII left in the LaTeX");
  });
});

Deno.test("tables: CSV has full-precision statistics and the runs behind them", async () => {
  await withTables(RUNS, (tables) => {
    const [header, ...lines] = tablesCsv(tables).trim().split("\n");
    const names = header.split(",");
    const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i], v])));
    const alpha = rows.find((r) => r.model === "alpha" && r.metric === "nll_nats")!;
    assert.equal(alpha.kind, "exact");
    assert.equal(alpha.question, "likelihood");
    assert.equal(Number(alpha.mean), 12);
    assert.equal(Number(alpha.std), 2);
    assert.ok(Math.abs(Number(alpha.ci95_low) - (12 - (4.303 * 2) / Math.sqrt(3))) < 1e-3);
    assert.equal(alpha.seeds, "1 2 3");
    assert.equal(alpha.run_ids.split(" ").length, 3);
    const beta = rows.find((r) => r.model === "beta" && r.metric === "nll_nats")!;
    assert.equal(beta.k, "5");
    assert.equal(Number(beta.mean), 11.25);
    assert.ok(!rows.some((r) => r.model === "gamma"), "unfinished runs have no statistics");
  });
});

Deno.test("tables: a real-data run is the sample-quality floor row, never ranked or bold", async () => {
  const real: FakeRun = {
    model: "real-data",
    seed: 1,
    suite: "quick",
    dataset: "mnist",
    testCount: 10_000,
    metrics: {
      fid: mv(0.91, "lower", "feature dist²", { samples: 10_000, reference: "test-binary" }),
      precision: mv(0.9512, "higher", "fraction"),
    },
  };
  await withTables([...questionRuns(), real], (tables) => {
    const [table] = tables;
    const samples = table.sections.find((s) => s.question === "samples")!;
    assert.equal(samples.floor?.label, "real vs real (floor)");
    assert.equal(samples.floor?.cells.fid.stats?.mean, 0.91);
    const ranked = samples.blocks.flatMap((b) => b.rows.map((r) => r.label));
    assert.ok(!ranked.includes("real-data"));
    const md = sectionOf(tablesMarkdown(tables), "Sample quality");
    const lines = md.split("\n").filter((l) => l.startsWith("| "));
    assert.match(lines[2], /^\| \*real vs real \(floor\)\* \| \| 0\.91 \|/);
    assert.doesNotMatch(lines[2], /\*\*/);
    // The best model is still the best model, not the real data.
    assert.match(lines[3], /^\| dcgan \(with-a-long-descriptive-name\) \| 1, 2, 3 \| \*\*10\.91/);
    // Other questions have no floor row.
    assert.equal(table.sections.find((s) => s.question === "cost")!.floor, null);
  });
});
