import assert from "node:assert/strict";
import { join } from "node:path";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { seedStats } from "../../reports/stats.ts";
import {
  buildTables,
  type Table,
  tablesCsv,
  tablesLatex,
  tablesMarkdown,
} from "../../reports/tables.ts";
import { type FakeRun, mv, tempDir, writeResults } from "./_fixtures.ts";

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

async function fabricated(): Promise<[Table[], string, () => Promise<void>]> {
  const [dir, cleanup] = await tempDir();
  await writeResults(dir, RUNS);
  const { runs } = await collectRuns(dir);
  return [buildTables(groupRuns(runs)), dir, cleanup];
}

function markdownRow(markdown: string, model: string): string[] {
  const line = markdown.split("\n").find((l) => l.startsWith(`| ${model} |`));
  assert.ok(line, `no Markdown row for ${model}`);
  return line.split(" | ").map((c) => c.replace(/^\| |\s*\|$/g, "").trim());
}

Deno.test("tables: values are the hand-computed mean ± std [95% CI] over seeds", async () => {
  const [tables, , cleanup] = await fabricated();
  try {
    assert.equal(tables.length, 1);
    const table = tables[0];
    const alpha = table.rows.find((r) => r.label === "alpha")!;
    const nll = table.quality.find((c) => c.id === "nll_nats[exact]")!;
    const stats = alpha.cells[nll.id].stats!;
    assert.equal(stats.n, 3);
    assert.ok(Math.abs(stats.mean - 12) < 1e-12);
    assert.ok(Math.abs(stats.std - 2) < 1e-12);
    assert.ok(Math.abs(stats.ci95 - (4.303 * 2) / Math.sqrt(3)) < 1e-3);

    const md = tablesMarkdown(tables);
    const header = md.split("\n").find((l) => l.startsWith("| model |"))!.split(" | ");
    const cell = (model: string, title: string) => {
      const index = header.findIndex((h) => h.includes(title));
      assert.ok(index > 0, `no column ${title}`);
      return markdownRow(md, model)[index];
    };
    assert.equal(cell("alpha", "NLL [exact]"), "12.00 ± 2.00 [7.03, 16.97]");
    // beta seed 1 counts once, from its newest run: 11 and 11.5, t(1) = 12.706.
    assert.equal(cell("beta", "−IWAE [IWAE-5]"), "11.25 ± 0.35 [8.07, 14.43]");
    assert.equal(cell("beta", "−ELBO [ELBO]"), "13.25 ± 0.35 [10.07, 16.43]");
    assert.equal(cell("alpha", "score"), "**6.000 ± 1.000** [3.516, 8.484]");
    assert.equal(cell("beta", "dist"), "**2.500 ± 0.707** [−3.853, 8.853]");
    assert.equal(cell("gamma", "runs"), "1 diverged, 1 interrupted");
    assert.equal(cell("gamma", "params"), "—");
    assert.match(md, /beta-synthetic-seed1-old` \(superseded/);
  } finally {
    await cleanup();
  }
});

Deno.test("tables: bold marks the best value by each metric's direction", async () => {
  const [tables, , cleanup] = await fabricated();
  try {
    const [table] = tables;
    const best = (label: string, metric: string) => {
      const column = [...table.quality, ...table.cost].find((c) => c.metric === metric)!;
      return table.rows.find((r) => r.label === label)!.cells[column.id].best;
    };
    // score: higher is better (alpha 6 > beta 4); dist: lower is better (beta 2.5 < alpha 3).
    assert.equal(best("alpha", "score"), true);
    assert.equal(best("beta", "score"), false);
    assert.equal(best("beta", "dist"), true);
    assert.equal(best("alpha", "dist"), false);
    assert.equal(best("alpha", "params"), true);
    // A column with one model has nothing to beat: no bold.
    assert.equal(best("alpha", "train_seconds"), false);
    const tex = tablesLatex(tables);
    assert.match(tex, /\$\\mathbf\{6\.000 \\pm 1\.000\}\$/);
    assert.match(tex, /\$\\mathbf\{2\.500 \\pm 0\.707\}\$/);
    assert.match(tex, /\$3\.000 \\pm 0\.000\$/);
  } finally {
    await cleanup();
  }
});

Deno.test("tables: likelihood columns name their kind and never mix kinds", async () => {
  const [tables, , cleanup] = await fabricated();
  try {
    const [table] = tables;
    const columns = [...table.quality, ...table.cost];
    const titles = columns.map((c) => c.title);
    assert.ok(titles.includes("NLL [exact] (nats) ↓"), titles.join("; "));
    assert.ok(titles.includes("−IWAE [IWAE-5] (nats) ↓"));
    assert.ok(titles.includes("−ELBO [ELBO] (nats) ↓"));
    // The IWAE copy of beta's nll_nats is the −IWAE column already: not shown twice.
    assert.ok(!titles.some((t) => t.startsWith("NLL [IWAE")));
    for (const column of columns) {
      const kinds = new Set(
        table.rows.flatMap((r) => r.group.finished)
          .map((run) => run.metrics[column.metric])
          .filter((m) => m && (m.kind ?? null) === column.kind)
          .map((m) => `${m.kind}/${m.k}`),
      );
      assert.ok(kinds.size <= 1, `${column.id} mixes ${[...kinds]}`);
      if (column.kind) assert.match(column.title, /\[(exact|ELBO|IWAE-\d+|AIS|Parzen)\]/);
    }
    assert.match(tablesLatex(tables), /\$-\$IWAE \[IWAE-5\] \\\\ \(nats\) \$\\downarrow\$/);
  } finally {
    await cleanup();
  }
});

/** Numbers in a table row, normalised across Markdown and LaTeX spellings. */
function numbers(cells: string[]): string[] {
  return cells.join(" ").replace(/\{,\}/g, ",").replace(/−/g, "-")
    .match(/-?\d[\d,]*(\.\d+)?/g) ?? [];
}

Deno.test("tables: the LaTeX table holds the Markdown table's numbers, and compiles", async () => {
  const [tables, dir, cleanup] = await fabricated();
  try {
    const md = tablesMarkdown(tables);
    const tex = tablesLatex(tables);
    for (const model of ["alpha", "beta", "gamma"]) {
      const mdCells = markdownRow(md, model).slice(3); // model, seeds, runs
      const texCells = tex.split("\n")
        .filter((l) => l.trim().startsWith(model))
        .flatMap((l) => l.replace(/\\\\\s*$/, "").split(" & ").slice(2)); // model, seeds
      assert.deepEqual(numbers(texCells), numbers(mdCells), model);
    }
    const pdflatex = await which("pdflatex");
    if (!pdflatex) {
      console.warn(
        "skipped: pdflatex is not installed (apt-get install texlive-latex-recommended)",
      );
      return;
    }
    const doc = [
      "\\documentclass{article}",
      "\\usepackage{booktabs}",
      "\\usepackage[margin=1cm,landscape]{geometry}",
      "\\begin{document}",
      tex,
      "\\end{document}",
    ].join("\n");
    await Deno.writeTextFile(join(dir, "t.tex"), doc);
    const out = await new Deno.Command(pdflatex, {
      args: ["-interaction=nonstopmode", "-halt-on-error", "t.tex"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, log.split("\n").filter((l) => l.startsWith("!")).join("\n"));
    assert.ok((await Deno.stat(join(dir, "t.pdf"))).size > 1000);
  } finally {
    await cleanup();
  }
});

Deno.test("tables: CSV has full-precision statistics and the runs behind them", async () => {
  const [tables, , cleanup] = await fabricated();
  try {
    const [header, ...lines] = tablesCsv(tables).trim().split("\n");
    const names = header.split(",");
    const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i], v])));
    const alpha = rows.find((r) => r.model === "alpha" && r.metric === "nll_nats")!;
    assert.equal(alpha.kind, "exact");
    assert.equal(Number(alpha.mean), 12);
    assert.equal(Number(alpha.std), 2);
    assert.ok(Math.abs(Number(alpha.ci95_low) - (12 - (4.303 * 2) / Math.sqrt(3))) < 1e-3);
    assert.equal(alpha.seeds, "1 2 3");
    assert.equal(alpha.run_ids.split(" ").length, 3);
    const beta = rows.find((r) => r.model === "beta" && r.metric === "iwae_nats")!;
    assert.equal(beta.k, "5");
    assert.equal(Number(beta.mean), 11.25);
    assert.ok(!rows.some((r) => r.model === "gamma"), "unfinished runs have no statistics");
  } finally {
    await cleanup();
  }
});

async function which(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const path = join(dir, name);
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not in this folder
    }
  }
  return null;
}
