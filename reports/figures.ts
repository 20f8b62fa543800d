/**
 * Paper figures: every report chart as PNG and SVG, drawn server-side by chart.js on
 * `@napi-rs/canvas` (Skia, prebuilt binaries shipped inside its npm packages; under Deno it
 * needs `--allow-ffi`, which `deno task` grants with -A). Where the native canvas cannot load,
 * genbench says so in one line and writes SVG only, with its own small SVG writer.
 */
import { join } from "node:path";
import { oneLine } from "../core/errors.ts";
import { writeFileAtomic } from "../core/files.ts";
import { type ChartSpec, setupChartJs } from "./charts.ts";
import { chartSvg } from "./svg.ts";

/** Figure size in CSS pixels; PNGs are drawn at twice this for print. */
export const FIGURE_WIDTH = 800;
export const FIGURE_HEIGHT = 450;

/** What `writeFigures` wrote, and the one-line note when it fell back to SVG only. */
export interface FiguresResult {
  files: string[];
  note: string | null;
}

/** Paints the canvas white before drawing: a transparent PNG shows black in some viewers. */
const whiteBackground = {
  id: "genbenchWhiteBackground",
  // deno-lint-ignore no-explicit-any
  beforeDraw(chart: any) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

// deno-lint-ignore no-explicit-any
type Renderer = { canvas: any; Chart: any };

let renderer: Promise<Renderer> | null = null;

async function loadRenderer(): Promise<Renderer> {
  const [canvas, chartjs] = await Promise.all([import("@napi-rs/canvas"), import("chart.js")]);
  chartjs.Chart.register(...chartjs.registerables, whiteBackground);
  setupChartJs(chartjs.Chart);
  return { canvas, Chart: chartjs.Chart };
}

/** A configuration chart.js can draw off-screen: a deep copy, no animation, fixed size. */
// deno-lint-ignore no-explicit-any
function staticConfig(chart: ChartSpec, pixelRatio: number): any {
  const config = structuredClone(chart.config);
  config.options = {
    ...config.options,
    animation: false,
    responsive: false,
    devicePixelRatio: pixelRatio,
  };
  return config;
}

async function renderPng(r: Renderer, chart: ChartSpec): Promise<Uint8Array> {
  const canvas = r.canvas.createCanvas(FIGURE_WIDTH, FIGURE_HEIGHT);
  const instance = new r.Chart(canvas.getContext("2d"), staticConfig(chart, 2));
  try {
    // Encode before destroy(): destroying a chart clears its canvas.
    return new Uint8Array(await canvas.encode("png"));
  } finally {
    instance.destroy();
  }
}

function renderSvg(r: Renderer, chart: ChartSpec): Uint8Array {
  // Text as paths: the SVG then looks the same without the fonts of this machine.
  const canvas = new r.canvas.Canvas(
    FIGURE_WIDTH,
    FIGURE_HEIGHT,
    r.canvas.SvgExportFlag.ConvertTextToPaths,
  );
  const instance = new r.Chart(canvas.getContext("2d"), staticConfig(chart, 1));
  try {
    return new Uint8Array(canvas.getContent());
  } finally {
    instance.destroy();
  }
}

/**
 * Write `<dir>/<chart id>.png` and `.svg` for every chart. `useCanvas: false` forces the SVG-only
 * fallback (the path taken when the native canvas cannot load).
 */
export async function writeFigures(
  charts: ChartSpec[],
  dir: string,
  options: { useCanvas?: boolean } = {},
): Promise<FiguresResult> {
  await Deno.mkdir(dir, { recursive: true });
  let r: Renderer | null = null;
  let note: string | null = null;
  if (options.useCanvas !== false) {
    try {
      renderer ??= loadRenderer();
      r = await renderer;
    } catch (error) {
      renderer = null;
      // Keep the first sentence of the loader's message; name the usual causes ourselves.
      const reason = oneLine(error).split(/(?<=\.) /)[0];
      note = `figures: the native canvas (@napi-rs/canvas) cannot load here (${reason}; it ` +
        "needs --allow-ffi and a prebuilt binary for this platform); writing SVG figures " +
        "only, without PNG";
    }
  } else {
    note = "figures: native canvas not used; writing SVG figures only, without PNG";
  }
  const files: string[] = [];
  for (const chart of charts) {
    const svg = join(dir, `${chart.id}.svg`);
    if (r) {
      const png = join(dir, `${chart.id}.png`);
      await writeFileAtomic(png, await renderPng(r, chart));
      await writeFileAtomic(svg, renderSvg(r, chart));
      files.push(png, svg);
    } else {
      await writeFileAtomic(svg, chartSvg(chart));
      files.push(svg);
    }
  }
  return { files, note };
}
