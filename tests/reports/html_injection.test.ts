/**
 * A results folder crafted to attack the report's reader: `<script>`/`onerror=` payloads in the
 * model name, variant, config values, provenance strings, a metric's name and unit and a curve's
 * name. The page must show them as text and run none of them (checked in headless Chromium
 * where there is one).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeReport } from "../../reports/report.ts";
import { mv, tempDir, writeResults } from "./_fixtures.ts";
import { browserTest } from "./_browser.ts";

const PAYLOADS = [
  `<script>console.log("PWNED-1");alert(1)</script>`,
  `"><img src=x onerror=console.log('PWNED-2')>`,
  `' onerror='alert("PWNED-3")`,
  `</script><script>console.log("PWNED-4")</script>`,
  `<svg onload=console.log("PWNED-5")>`,
  `</pre><iframe srcdoc="<script>parent.console.log('PWNED-6')</script>">`,
  `<style>body{display:none}</style>PWNED-7`,
];
const [P1, P2, P3, P4, P5, P6, P7] = PAYLOADS;

async function craftedReport() {
  const [dir, cleanup] = await tempDir();
  await writeResults(
    dir,
    [1, 2].map((seed) => ({
      model: P1,
      variant: P2,
      seed,
      id: `crafted-seed${seed}`,
      png: true,
      config: { steps: 10, note: P3, options: { batchSize: 8, name: P4 } },
      curves: [{ step: 1, [P5]: 3 }, { step: 2, [P5]: 2 }],
      metrics: {
        nll_nats: mv(90 + seed, "lower", "nats", { kind: "exact" }),
        [P6]: mv(seed, "lower", P7),
      },
    })),
  );
  // Provenance strings, which the fixture does not vary: plant payloads in each of them.
  for (const seed of [1, 2]) {
    const path = join(dir, "runs", `crafted-seed${seed}`, "run.json");
    const record = JSON.parse(await Deno.readTextFile(path));
    Object.assign(record.provenance, {
      genbench_commit: P1,
      deno: P2,
      v8: P3,
      typescript: P4,
      tfjs: P5,
      os: P6,
      arch: P7,
      adapter: P2,
    });
    record.provenance.dataset.source = P1;
    record.provenance.dataset.sha256 = P4;
    await Deno.writeTextFile(path, JSON.stringify(record));
  }
  const index = await writeReport(dir, join(dir, "report"), { useCanvas: false, say: () => {} });
  return { index, html: await Deno.readTextFile(index), cleanup };
}

Deno.test("index.html: payloads in every run-derived string are escaped", async () => {
  const { html, cleanup } = await craftedReport();
  try {
    for (const payload of PAYLOADS) {
      for (const piece of ["<script", "<img", "<svg", "<iframe", "<style>body", "onerror='"]) {
        if (payload.includes(piece)) {
          // The payload's markup never appears raw, anywhere in the page.
          assert.ok(!html.includes(payload), `unescaped: ${payload}`);
        }
      }
    }
    assert.equal((html.match(/<script[\s>]/g) ?? []).length, 3, "only the page's own scripts");
    assert.equal((html.match(/<style>/g) ?? []).length, 1, "only the page's own style");
    // Every <img> is the page's own: a data: PNG with an escaped caption.
    for (const img of html.match(/<img [^>]*>/g) ?? []) {
      assert.match(img, /^<img alt="[^"<>]*" src="data:image\/png;base64,[A-Za-z0-9+/=]+">$/);
    }
    assert.doesNotMatch(html, /<svg/i);
    assert.doesNotMatch(html, /<iframe/i);
    // The provenance and config payloads are shown (escaped) rather than dropped.
    for (const payload of [P1, P3, P6]) {
      assert.ok(html.includes(payload.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)));
    }
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
  } finally {
    await cleanup();
  }
});

browserTest(
  "index.html: in headless Chromium no payload runs and each is shown as text",
  async (newPage) => {
    const { index, cleanup } = await craftedReport();
    try {
      const page = await newPage();
      const events: string[] = [];
      page.on("console", (m) => events.push(`console ${m.type()}: ${m.text()}`));
      page.on("dialog", async (d) => {
        events.push(`dialog: ${d.message()}`);
        await d.dismiss();
      });
      page.on("pageerror", (e) => events.push(`error: ${e.message}`));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) {
          events.push(`request: ${r.url()}`);
        }
      });
      await page.goto(`file://${index}`, { waitUntil: "load" });
      await page.waitForTimeout(300);
      // No payload ran, and nothing was refused by the CSP (which would mean markup got in).
      assert.deepEqual(events.filter((e) => /PWNED|dialog|Refused|request/.test(e)), []);
      const frames = await page.locator("iframe").count();
      assert.equal(frames, 0);
      // Open every <details> so that their text counts as shown.
      await page.evaluate(`document.querySelectorAll("details").forEach((d) => d.open = true)`);
      const text = await page.evaluate<string>("document.body.innerText");
      for (const payload of [P1, P3, P6, P7]) assert.ok(text.includes(payload), payload);
    } finally {
      await cleanup();
    }
  },
);
