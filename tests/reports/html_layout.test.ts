/**
 * The report as a reader sees it, in headless Chromium at 1,400 px: it opens on a ranked
 * summary, then one table per question; no table scrolls sideways; the model column stays in
 * view; nothing without a direction is bold; bars are sorted and say what the highlight means;
 * learning curves have named axes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeReport } from "../../reports/report.ts";
import { tempDir, writeResults } from "./_fixtures.ts";
import { questionRuns } from "./_question_runs.ts";
import { browserTest } from "./_browser.ts";

interface ChartJson {
  id: string;
  caption: string;
  section: string;
  // deno-lint-ignore no-explicit-any
  config: any;
}

Deno.test("report charts: bars sorted best first, the highlight explained, curves with named axes", async () => {
  const [dir, cleanup] = await tempDir();
  try {
    await writeResults(dir, questionRuns());
    const index = await writeReport(dir, join(dir, "report"), { useCanvas: false, say: () => {} });
    const html = await Deno.readTextFile(index);
    const json = html.match(
      /<script type="application\/json" id="genbench-charts">(.*?)<\/script>/s,
    )!;
    const charts: ChartJson[] = JSON.parse(json[1]);
    const bars = charts.filter((c) => c.config.type === "bar");
    assert.ok(bars.length >= 8, `${bars.length} bar charts`);
    for (const bar of bars) {
      assert.match(bar.caption, /Green|colour/, `${bar.id}: the highlight is not explained`);
    }
    const fid = bars.find((c) => c.id.endsWith("-fid"))!;
    const values: number[] = fid.config.data.datasets[0].data;
    assert.deepEqual(values, [...values].sort((a, b) => a - b), "FID bars not sorted");
    const precision = bars.find((c) => c.id.endsWith("-precision"))!;
    const higher: number[] = precision.config.data.datasets[0].data;
    assert.deepEqual(higher, [...higher].sort((a, b) => b - a), "precision bars not sorted");
    // No bar chart ranks a metric without a direction.
    assert.ok(!bars.some((c) => /-(params|kid-std|is-score-std|parzen-sigma)$/.test(c.id)));
    // The NLL chart keeps the subset note.
    const nll = bars.find((c) => c.id.endsWith("-nll-best"))!;
    assert.ok(nll.config.data.labels.includes("nade [exact] (n = 2,000)"));
    for (const curve of charts.filter((c) => c.section === "curves")) {
      assert.notEqual(curve.config.options.scales.y.title.text, "value");
      assert.equal(curve.config.options.scales.x.title.text, "training images seen");
    }
  } finally {
    await cleanup();
  }
});

browserTest(
  "index.html at 1,400 px: summary first, a table per question, none scrolls sideways",
  async (newPage) => {
    const [dir, cleanup] = await tempDir();
    await writeResults(dir, questionRuns());
    const index = await writeReport(dir, join(dir, "report"), { useCanvas: false, say: () => {} });
    try {
      const page = await newPage({ width: 1400, height: 900 });
      await page.goto(`file://${index}`);
      await page.waitForSelector("html[data-charts-drawn]", { timeout: 20_000 });
      const layout = await page.evaluate(`(() => {
        const tables = [...document.querySelectorAll("table")]
          .filter((t) => !t.closest("details"));
        return {
          page: document.documentElement.scrollWidth,
          viewport: document.documentElement.clientWidth,
          tables: tables.map((t) => {
            const box = t.parentElement;
            return { width: t.getBoundingClientRect().right, box: box.clientWidth,
              scroll: box.scrollWidth, head: t.tHead.rows[0].cells[0].textContent,
              sticky: getComputedStyle(t.tHead.rows[0].cells[0]).position };
          }),
          headings: [...document.querySelectorAll("h2, h3")].map((h) => h.textContent),
          bold: tables.flatMap((t) => {
            const names = [...t.tHead.rows[0].cells].map((c) => c.textContent);
            return [...t.tBodies[0].rows].flatMap((r) => [...r.cells]
              .filter((c) => c.querySelector("strong"))
              .map((c) => names[c.cellIndex]));
          }),
        };
      })()`) as {
        page: number;
        viewport: number;
        tables: { width: number; box: number; scroll: number; head: string; sticky: string }[];
        headings: string[];
        bold: string[];
      };
      assert.ok(layout.page <= layout.viewport, `the page scrolls sideways: ${layout.page} px`);
      assert.ok(layout.tables.length >= 5);
      for (const table of layout.tables) {
        assert.ok(table.scroll <= table.box, `table "${table.head}…" is ${table.scroll} px wide`);
        assert.ok(table.width <= 1400, `table "${table.head}…" ends at ${table.width} px`);
        assert.equal(table.sticky, "sticky", `table "${table.head}…": first column not sticky`);
      }
      const at = (h: string) => layout.headings.indexOf(h);
      assert.ok(at("Ranked summary") > 0, layout.headings.join(" / "));
      assert.ok(at("Ranked summary") < at("Likelihood"));
      assert.ok(at("Likelihood") < at("Sample quality"));
      assert.ok(at("Sample quality") < at("Reconstruction"));
      assert.ok(at("Reconstruction") < at("Cost"));
      for (const name of layout.bold) {
        assert.ok(!/^(Params|KID std|IS std|Parzen σ|Active units)/.test(name), `bold ${name}`);
      }
      assert.ok(layout.bold.length > 5);
    } finally {
      await cleanup();
    }
  },
);
