import assert from "node:assert/strict";
import { join } from "node:path";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { latexEscape, tablesLatex } from "../../reports/latex.ts";
import { buildTables } from "../../reports/tables.ts";
import { tempDir, writeResults } from "./_fixtures.ts";
import { questionRuns } from "./_question_runs.ts";
import { needTool } from "../_tools.ts";

const pdflatexTool = await needTool("pdflatex");

Deno.test("latexEscape: LaTeX's specials escaped, the Unicode genbench writes as LaTeX", () => {
  assert.equal(latexEscape("a_b & 50% #1 {x} $"), "a\\_b \\& 50\\% \\#1 \\{x\\} \\$");
  assert.equal(latexEscape("MMD²"), "MMD$^2$");
  assert.equal(latexEscape("2 ± 1"), "2 $\\pm$ 1");
  assert.equal(latexEscape("−ELBO"), "$-$ELBO");
  assert.equal(latexEscape("β-VAE, σ"), "$\\beta$-VAE, $\\sigma$");
  // Adjacent math joins into one formula; an escaped dollar stays text.
  assert.equal(latexEscape("±−"), "$\\pm-$");
  assert.equal(latexEscape("$−"), "\\$$-$");
});

Deno.test({
  name: "tables.tex: every question's table fits \\textwidth of a standard article (pdflatex)",
  ignore: pdflatexTool.ignore, // missing pdflatex: ignored, never passed (tests/_tools.ts)
}, async () => {
  const pdflatex = pdflatexTool.path!;
  const [dir, cleanup] = await tempDir();
  try {
    await writeResults(dir, questionRuns());
    const tables = buildTables(groupRuns((await collectRuns(dir)).runs));
    const tex = tablesLatex(tables);
    // One table environment per question (or part of one), each with a booktabs tabular.
    const count = tex.match(/\\begin\{table\}/g)?.length ?? 0;
    assert.ok(count >= 4, `only ${count} tables`);
    assert.equal(tex.match(/\\toprule/g)?.length, count);
    const doc = [
      "\\documentclass{article}",
      "\\usepackage{booktabs}",
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
    const log = await Deno.readTextFile(join(dir, "t.log"));
    assert.equal(out.code, 0, log.split("\n").filter((l) => l.startsWith("!")).join("\n"));
    const overfull = log.split("\n").filter((l) => l.startsWith("Overfull \\hbox"));
    assert.deepEqual(overfull, [], "a table is wider than \\textwidth");
    assert.doesNotMatch(log, /Missing character/);
  } finally {
    await cleanup();
  }
});
