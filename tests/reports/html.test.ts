import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { decode } from "fast-png";
import { writeReport } from "../../reports/report.ts";
import { type FakeRun, mv, tempDir, writeResults } from "./_fixtures.ts";
import { browserTest } from "./_browser.ts";

const EVIL_MODEL = '<script>alert("model")</script>';
const EVIL_VARIANT = '"><img src=x onerror=alert(1)>';
const EVIL_CONFIG = "</script><script>alert(2)</script>";

function runs(withFid: boolean): FakeRun[] {
  const list: FakeRun[] = [];
  for (const seed of [1, 2]) {
    list.push({
      model: "alpha",
      seed,
      png: true,
      metrics: {
        nll_nats: mv(80 + seed, "lower", "nats", { kind: "exact" }),
        params: mv(100, "lower", "count"),
        ...(withFid ? { fid: mv(10 + seed, "lower", "") } : {}),
      },
    });
    list.push({
      model: EVIL_MODEL,
      variant: EVIL_VARIANT,
      seed,
      id: `evil-seed${seed}`,
      png: true,
      config: { note: EVIL_CONFIG },
      curves: [{ step: 1, "<b>loss</b>": 3 }, { step: 2, "<b>loss</b>": 2 }],
      metrics: {
        nll_nats: mv(90 + seed, "lower", "nats", { kind: "iwae-k", k: 10 }),
        params: mv(200, "lower", "count"),
        ...(withFid ? { fid: mv(5 + seed, "lower", "") } : {}),
      },
    });
  }
  // A diverged run: a NaN loss (null in JSON) in its curves and its metrics.
  list.push({
    model: "gamma",
    seed: 1,
    status: "diverged",
    curves: [{ step: 1, loss: 2 }, { step: 2, loss: null }],
    metrics: { params: mv(3, "lower", "count"), nll_nats: mv(NaN, "lower", "nats") },
  });
  return list;
}

async function report(withFid: boolean, useCanvas = false) {
  const [dir, cleanup] = await tempDir();
  await writeResults(dir, runs(withFid));
  const notes: string[] = [];
  const index = await writeReport(dir, join(dir, "report"), {
    useCanvas,
    say: (line) => notes.push(line),
  });
  return { dir, index, html: await Deno.readTextFile(index), notes, cleanup };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

Deno.test("index.html: strings from runs are escaped; the CSP allows only the page's scripts", async () => {
  const { html, notes, cleanup } = await report(false);
  try {
    for (const evil of [EVIL_MODEL, EVIL_VARIANT, EVIL_CONFIG, "<b>loss</b>", "<img src=x"]) {
      assert.ok(!html.includes(evil), `unescaped: ${evil}`);
    }
    assert.ok(html.includes("&#60;script&#62;alert(&#34;model&#34;)&#60;/script&#62;"));
    assert.ok(html.includes("&#60;/script&#62;&#60;script&#62;alert(2)"));
    // Exactly three script elements: the chart data (JSON), chart.js, and the page's own.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 3);
    assert.equal(scripts[0][1], ' type="application/json" id="genbench-charts"');
    const charts = JSON.parse(scripts[0][2]);
    assert.ok(JSON.stringify(charts).includes("<script>alert("), "chart labels keep the name");
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /img-src data:/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const allowed = [...csp.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]);
    for (const [, , body] of scripts.slice(1)) assert.ok(allowed.includes(sha256(body)));
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1];
    assert.ok(allowed.includes(sha256(style)));
    // Nothing is fetched: no external src/href, images are data: URIs.
    assert.doesNotMatch(html, /\s(src|href)="(https?:)?\/\//);
    assert.equal(html.match(/<img [^>]*src="data:image\/png;base64,/g)!.length, 4);
    assert.match(html, /No run has an <code>fid<\/code> metric/);
    assert.match(
      html,
      /Not counted in the tables: gamma-synthetic-seed1-\S+ \(<span class="status-diverged">diverged/,
    );
    assert.deepEqual(notes, [
      "figures: native canvas not used; writing SVG figures only, without PNG",
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("index.html: a likelihood-vs-FID scatter where runs have FID", async () => {
  const { html, dir, cleanup } = await report(true);
  try {
    assert.doesNotMatch(html, /No run has an <code>fid<\/code> metric/);
    assert.match(html, /id="chart-scatter-ci-synthetic-nll-fid"/);
    const svg = await Deno.readTextFile(
      join(dir, "report", "figures", "scatter-ci-synthetic-nll-fid.svg"),
    );
    assert.equal(svg.match(/<circle /g)!.length, 2);
    assert.match(svg, /NLL \[IWAE-10\]/); // the legend says which point is a bound
  } finally {
    await cleanup();
  }
});

browserTest(
  "index.html: opens in headless Chromium with no console error and draws every chart",
  async (newPage) => {
    const { index, cleanup } = await report(true);
    try {
      const page = await newPage({ width: 1200, height: 900 });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("dialog", (d) => {
        problems.push(`dialog: ${d.message()}`);
        d.dismiss();
      });
      await page.goto(`file://${index}`);
      await page.waitForSelector("html[data-charts-drawn]", { timeout: 20_000 });
      const drawn = Number(await page.getAttribute("html", "data-charts-drawn"));
      // Counted in the page: canvases with painted (non-transparent) pixels.
      const painted: [string, number][] = await page.evaluate(`
        [...document.querySelectorAll("canvas")].map((canvas) => {
          const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          let count = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
          return [canvas.id, count];
        })`);
      assert.deepEqual(problems, []);
      assert.equal(painted.length, drawn);
      // Bars (NLL by kind, FID; none for params, which has no direction), the scatter, and
      // two curves (the objective, and the unknown "<b>loss</b>" on an axis of its own).
      assert.ok(drawn >= 5, `only ${drawn} charts`);
      for (const [id, count] of painted) assert.ok(count > 2000, `${id} is blank (${count} px)`);
      const shot = decode(await page.screenshot({ fullPage: false }));
      const channels = shot.channels;
      let dark = 0;
      for (let i = 0; i < shot.data.length; i += channels) if (shot.data[i] < 128) dark++;
      assert.ok(dark > 1000, "the screenshot is blank");
    } finally {
      await cleanup();
    }
  },
);
