import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import type { ChartSpec } from "../../reports/charts.ts";
import { FIGURE_HEIGHT, FIGURE_WIDTH, writeFigures } from "../../reports/figures.ts";
import { chartSvg } from "../../reports/svg.ts";
import { tempDir } from "./_fixtures.ts";

const BARS: ChartSpec = {
  id: "bars",
  title: "NLL <exact> & more",
  caption: "",
  section: "metrics",
  config: {
    type: "bar",
    data: {
      labels: ["a", "b", "c"],
      datasets: [{
        label: "NLL",
        data: [10, 20, null],
        backgroundColor: ["#0072B2", "#009E73", "#0072B2"],
        errorBars: [[8, 12], null, null],
      }],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "nats" } } } },
  },
};

const LINES: ChartSpec = {
  id: "lines",
  title: "curves",
  caption: "",
  section: "curves",
  config: {
    type: "line",
    data: {
      datasets: [
        { label: "loss", data: [{ x: 1, y: 3 }, { x: 2, y: null }, { x: 3, y: 1 }] },
        { label: "loss, seed 2", legendHidden: true, data: [{ x: 1, y: 2 }, { x: 3, y: 2 }] },
      ],
    },
    options: { scales: { x: { type: "linear" } } },
  },
};

Deno.test("figures: chart.js on @napi-rs/canvas draws PNG and SVG files", async () => {
  const [dir, cleanup] = await tempDir();
  try {
    const result = await writeFigures([BARS, LINES], dir);
    assert.equal(result.note, null, "the native canvas should load under deno test -A");
    assert.deepEqual(result.files.map((f) => f.slice(dir.length + 1)).sort(), [
      "bars.png",
      "bars.svg",
      "lines.png",
      "lines.svg",
    ]);
    const png = decode(await Deno.readFile(join(dir, "bars.png")));
    assert.equal(png.width, 2 * FIGURE_WIDTH);
    assert.equal(png.height, 2 * FIGURE_HEIGHT);
    // The bars are drawn in their colours on a white page: count the blue of bar "a".
    let blue = 0;
    let white = 0;
    for (let i = 0; i < png.data.length; i += png.channels) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r === 0 && g === 0x72 && b === 0xb2) blue++;
      if (r === 255 && g === 255 && b === 255) white++;
    }
    assert.ok(blue > 10_000, `only ${blue} bar pixels`);
    assert.ok(white > png.width * png.height * 0.3);
    const svg = await Deno.readTextFile(join(dir, "bars.svg"));
    assert.match(svg, /^<\?xml[^>]*>\s*<svg /);
    assert.ok((svg.match(/<path /g) ?? []).length > 20, "the SVG holds the drawing");
  } finally {
    await cleanup();
  }
});

Deno.test("figures: without the native canvas, SVG only from genbench's own writer", async () => {
  const [dir, cleanup] = await tempDir();
  try {
    const result = await writeFigures([BARS], dir, { useCanvas: false });
    assert.match(result.note!, /SVG figures only/);
    assert.deepEqual(result.files, [join(dir, "bars.svg")]);
    const svg = await Deno.readTextFile(join(dir, "bars.svg"));
    // White page + two bars (the null is skipped), one error bar, escaped title.
    assert.equal(svg.match(/<rect /g)!.length, 3);
    assert.equal(svg.match(/stroke="#222"/g)!.length, 1);
    assert.match(svg, /NLL &#60;exact&#62; &#38; more/);
  } finally {
    await cleanup();
  }
});

Deno.test("svg writer: a null breaks a line; hidden legend entries stay out", () => {
  const svg = chartSvg(LINES);
  const path = svg.match(/<path d="(M[^"]*)" fill="none" stroke="#0072B2"/)!;
  assert.ok(path, svg);
  // 3 → gap → 1: two sub-paths, each a single move.
  assert.equal(path[1].match(/M/g)!.length, 2);
  assert.match(svg, />loss<\/text>/);
  assert.doesNotMatch(svg, /loss, seed 2/);
});
