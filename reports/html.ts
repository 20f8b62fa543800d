/**
 * The self-contained HTML report: tables, metric bars with error bars, learning curves, the
 * NLL-vs-FID scatter (where FID exists), every PNG each run saved, and the provenance of every
 * run. It needs no network: chart.js (the UMD build from the npm package) is inlined, images are
 * `data:` URIs, and a Content-Security-Policy allows only the page's own two scripts (by hash).
 * Every string that comes from a run is HTML-escaped; chart data travels as a JSON block.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Buffer } from "node:buffer";
import { type CollectedRun, groupLabel, type RunGroup } from "./collect.ts";
import { type ChartSpec, setupChartJs } from "./charts.ts";
import {
  type Cell,
  cellParts,
  type Column,
  headlines,
  KIND_NOTE,
  type Section,
  seedsText,
  subsetNote,
  type Table,
  tableHeading,
} from "./tables.ts";
import { CELL_NOTE, headlineQuestion, valueText } from "./markdown.ts";

/** Images larger than this are listed, not embedded, to keep the page openable. */
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

/** Escape text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a `<script type="application/json">` block. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The chart.js UMD build, read from the installed npm package. */
export async function chartJsSource(): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package exports only its entry points; the UMD file sits beside the CommonJS entry.
  const entry = require.resolve("chart.js");
  return await Deno.readTextFile(join(dirname(entry), "chart.umd.min.js"));
}

function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return encodeBase64(new Uint8Array(digest));
}

/** The page's own script: sets chart.js up as the figures do, then draws every chart. */
function appScript(): string {
  return `(function () {
  "use strict";
  (${setupChartJs.toString()})(Chart);
  var specs = JSON.parse(document.getElementById("genbench-charts").textContent);
  var drawn = 0;
  specs.forEach(function (spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas) return;
    var config = spec.config;
    config.options = Object.assign({}, config.options, {
      animation: false,
      responsive: true,
      maintainAspectRatio: false
    });
    new Chart(canvas, config);
    drawn++;
  });
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1320px; padding: 1em 2em;
  color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { margin-top: 1.6em; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
thead th { border-bottom: 2px solid #444; vertical-align: bottom; }
th.model, td.model { position: sticky; left: 0; background: #fff; z-index: 1; max-width: 16em;
  overflow-wrap: anywhere; }
.num { white-space: nowrap; }
tr.block td { font-style: italic; color: #444; background: #f6f6f6; text-align: left; }
tr.floor td { font-style: italic; color: #555; }
.ci, .subset { color: #666; font-size: 11px; display: block; white-space: nowrap; }
.note { color: #555; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1em; }
figure { margin: 0; border: 1px solid #eee; padding: 0.5em; }
figcaption { font-size: 12px; color: #555; }
.chart { position: relative; height: 340px; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.gallery figure { flex: 0 1 400px; }
.gallery img { image-rendering: pixelated; width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.5em; overflow: auto; font-size: 12px; }
.status-diverged, .status-interrupted { color: #b00; font-weight: bold; }
`;

function cellHtml(cell: Cell | undefined, column: Column, table: Table): string {
  const parts = cell ? cellParts(cell, column) : null;
  if (!cell || !parts) return "<td>—</td>";
  const core = escapeHtml(parts.std === null ? parts.mean : `${parts.mean} ± ${parts.std}`);
  const main = `<span class="num">${cell.best ? `<strong>${core}</strong>` : core}</span>`;
  const ci = parts.low === null
    ? ""
    : `<span class="ci">95% CI [${escapeHtml(parts.low)}, ${escapeHtml(parts.high!)}]</span>`;
  const note = subsetNote(cell, table);
  const subset = note ? `<span class="subset">${escapeHtml(note)}</span>` : "";
  return `<td>${main}${ci}${subset}</td>`;
}

function statusHtml(status: string): string {
  return `<span class="status-${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

function sectionHtml(table: Table, section: Section, charts: ChartSpec[]): string {
  const multiBackend = table.backends.length > 1;
  const width = section.columns.length + 2 + (multiBackend ? 1 : 0);
  const head = [
    '<th class="text model">Model</th>',
    ...(multiBackend ? ['<th class="text">Backend</th>'] : []),
    '<th class="text">Seeds</th>',
    ...section.columns.map((c) => `<th>${escapeHtml(c.title)}</th>`),
  ];
  const rows: string[] = [];
  if (section.floor) {
    rows.push(
      `<tr class="floor"><td class="text model">${escapeHtml(section.floor.label)}</td>${
        multiBackend ? "<td></td>" : ""
      }<td></td>${
        section.columns.map((c) => cellHtml(section.floor!.cells[c.id], c, table)).join("")
      }</tr>`,
    );
  }
  for (const block of section.blocks) {
    if (block.title) {
      rows.push(`<tr class="block"><td colspan="${width}">${escapeHtml(block.title)}</td></tr>`);
    }
    for (const row of block.rows) {
      const unfinished = row.group.unfinished.length
        ? ` <span class="note">(${
          row.group.unfinished.map((r) => `seed ${r.seed} ${statusHtml(r.status)}`).join(", ")
        })</span>`
        : "";
      rows.push(
        `<tr><td class="text model">${escapeHtml(row.label)}${unfinished}</td>${
          multiBackend ? `<td class="text">${escapeHtml(row.group.backend)}</td>` : ""
        }<td class="text">${escapeHtml(seedsText(row.group))}</td>${
          section.columns.map((c) => cellHtml(row.cells[c.id], c, table)).join("")
        }</tr>`,
      );
    }
  }
  const ranked = section.rankedBy ? ` Ranked by ${escapeHtml(section.rankedBy.name)}.` : "";
  const kinds = section.question === "likelihood" ? ` ${escapeHtml(KIND_NOTE)}` : "";
  const own = charts.filter((c) => c.question === section.question && c.section === "metrics");
  return `<h3 id="${escapeHtml(`${table.suite}-${table.dataset}-${section.question}`)}">${
    escapeHtml(section.title)
  }</h3>
<p class="note">${escapeHtml(section.what)}${ranked}${kinds}</p>
<div class="table-wrap"><table><thead><tr>${head.join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table></div>
${own.length ? `<div class="charts">\n${own.map(figureHtml).join("\n")}\n</div>` : ""}`;
}

function summaryHtml(table: Table): string {
  const lines = headlines(table).map(({ section, block, column, row, families }) =>
    `<tr><td class="text model">${escapeHtml(headlineQuestion(section, block, column))}</td>` +
    `<td class="text"><strong>${escapeHtml(row.label)}</strong></td><td class="num">${
      escapeHtml(valueText(row.cells[column.id], column))
    }</td><td class="text">${
      families.map(({ family, row }) =>
        `${escapeHtml(family)}: ${escapeHtml(row.label)} <span class="num">${
          escapeHtml(valueText(row.cells[column.id], column))
        }</span>`
      ).join("<br>")
    }</td></tr>`
  );
  if (lines.length === 0) return "";
  return `<div class="table-wrap"><table class="summary"><thead><tr>` +
    '<th class="text model">Question</th><th class="text">Best model</th><th>Value</th>' +
    `<th class="text">Best per family</th></tr></thead><tbody>\n${lines.join("\n")}\n` +
    "</tbody></table></div>";
}

function tableHtml(table: Table, charts: ChartSpec[]): string {
  return `<h2 id="${escapeHtml(`${table.suite}-${table.dataset}`)}">${
    escapeHtml(tableHeading(table))
  }</h2>
<h3>Ranked summary</h3>
${summaryHtml(table) || '<p class="note">No ranked metric.</p>'}
${table.sections.map((s) => sectionHtml(table, s, charts)).join("\n")}`;
}

function figureHtml(chart: ChartSpec): string {
  return `<figure><div class="chart"><canvas id="chart-${escapeHtml(chart.id)}" role="img" ` +
    `aria-label="${escapeHtml(chart.title)}"></canvas></div><figcaption>${
      escapeHtml(chart.caption)
    } <a href="figures/${escapeHtml(chart.id)}.svg">SVG</a> · <a href="figures/${
      escapeHtml(chart.id)
    }.png">PNG</a></figcaption></figure>`;
}

/** What each image a run saves shows, for its caption. */
const IMAGE_CAPTIONS: Record<string, string> = {
  samples: "samples as the model draws them (for a Bernoulli decoder: binary draws, not means)",
  sample_means: "decoder means of prior draws z ~ N(0, I) (no pixel noise)",
  reconstructions: "test images (top) above their reconstructions (decoder mean at the " +
    "posterior mean)",
  interpolation: "decodes along the line between two test images' codes, the images at the ends",
  traversal: "latent traversal: one labelled row per most active latent dimension (z₍ᵢ₎ by " +
    "posterior-mean variance over test images), swept from −3 to 3 left to right, the others " +
    "held at a test image's code",
  manifold: "decodes of a grid over the 2-D latent space, z₁ left to right, z₂ top to bottom",
};

async function imageHtml(run: CollectedRun): Promise<string> {
  const parts: string[] = [];
  // Samples first (draws, then means), then the views, then anything else by name.
  const order = (name: string) => {
    const i = Object.keys(IMAGE_CAPTIONS).indexOf(name.replace(/\.png$/, ""));
    return i === -1 ? Infinity : i;
  };
  const images = [...run.images].sort((a, b) =>
    order(a.name) - order(b.name) || a.name.localeCompare(b.name)
  );
  for (const image of images) {
    const bytes = await Deno.readFile(image.path);
    const about = IMAGE_CAPTIONS[image.name.replace(/\.png$/, "")];
    const caption = `${groupLabel(run)}, seed ${run.seed}: ${image.name}${
      about ? ` — ${about}` : ""
    }`;
    if (bytes.length > MAX_IMAGE_BYTES) {
      parts.push(
        `<figure><figcaption>${
          escapeHtml(caption)
        } (${bytes.length} bytes: too large to embed; see the run's folder)</figcaption></figure>`,
      );
      continue;
    }
    // Only real PNGs become data URIs (the signature is checked, the MIME type is fixed).
    const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    if (!png) continue;
    parts.push(
      `<figure><img alt="${escapeHtml(caption)}" src="data:image/png;base64,${
        encodeBase64(bytes)
      }"><figcaption>${escapeHtml(caption)}</figcaption></figure>`,
    );
  }
  return parts.join("\n");
}

function provenanceHtml(run: CollectedRun): string {
  const record = run.record as Record<string, unknown>;
  const provenance = (record.provenance ?? {}) as Record<string, unknown>;
  const dataset = (provenance.dataset ?? {}) as Record<string, unknown>;
  const text = (value: unknown) =>
    escapeHtml(value === undefined || value === null ? "—" : String(value));
  const fields: [string, string][] = [
    ["status", statusHtml(run.status)],
    ["model", text(groupLabel(run))],
    ["suite / dataset", `${text(run.suite)} / ${text(run.dataset)}`],
    ["seed", text(run.seed)],
    [
      "backend",
      `${text(run.backend)}${provenance.adapter ? ` (${text(provenance.adapter)})` : ""}`,
    ],
    [
      "genbench commit",
      `${text(provenance.genbench_commit)}${
        provenance.genbench_dirty ? " (uncommitted changes)" : ""
      }`,
    ],
    [
      "Deno / V8 / tfjs",
      `${text(provenance.deno)} / ${text(provenance.v8)} / ${text(provenance.tfjs)}`,
    ],
    ["dataset sha256", text(dataset.sha256)],
    ["started / finished", `${text(record.started_at)} / ${text(record.finished_at)}`],
    ["wall seconds", text(record.wall_seconds)],
    ["folder", text(`runs/${run.id}`)],
  ];
  // Every field a metric value carries (kind, k, n, references…), whatever the runner added.
  const metrics = Object.entries(run.metrics).map(([name, m]) => {
    const { value, unit, ...rest } = m as unknown as Record<string, unknown>;
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
    return `${name} = ${value} ${unit}${extra ? ` (${extra})` : ""}`;
  });
  return `<details><summary>${escapeHtml(run.id)} — ${statusHtml(run.status)}</summary>
<table><tbody>${
    fields.map(([k, v]) =>
      `<tr><th class="text">${escapeHtml(k)}</th><td class="text">${v}</td></tr>`
    )
      .join("")
  }</tbody></table>
<p>metrics.json:</p><pre>${escapeHtml(metrics.join("\n") || "(no metrics)")}</pre>
<p>run.json:</p><pre>${escapeHtml(JSON.stringify(run.record, null, 2))}</pre>
</details>`;
}

/** What the page is made from. */
export interface HtmlInput {
  resultsDir: string;
  generatedAt: string;
  runs: CollectedRun[];
  groups: RunGroup[];
  tables: Table[];
  charts: ChartSpec[];
  /** The chart.js UMD source (see `chartJsSource`). */
  chartJs: string;
  /** One-line notes to show (e.g. that figures are SVG only). */
  notes?: string[];
}

/** The report page as one HTML string. */
export async function reportHtml(input: HtmlInput): Promise<string> {
  const app = appScript();
  if (/<\/script/i.test(input.chartJs)) throw new Error("chart.js source cannot be inlined");
  const [chartHash, appHash, styleHash] = await Promise.all(
    [input.chartJs, app, STYLE].map(sha256Base64),
  );
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${chartHash}' 'sha256-${appHash}'`,
    `style-src 'sha256-${styleHash}'`,
    "img-src data:",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  // Written unescaped (it holds only our own text and base64 hashes): it must have no `"`.
  if (csp.includes('"')) throw new Error("the Content-Security-Policy cannot hold a quote");
  const section = (name: ChartSpec["section"]) =>
    input.charts.filter((c) => c.section === name).map(figureHtml).join("\n");
  const hasFid = input.charts.some((c) => c.section === "scatter");
  const unfinished = input.groups.flatMap((g) => g.unfinished);
  const superseded = input.groups.flatMap((g) => g.superseded);
  const gallery: string[] = [];
  for (const group of input.groups) {
    for (const run of [...group.finished, ...group.unfinished]) {
      // One row of images per run, so that a model's draws, means and views sit side by side.
      const html = await imageHtml(run);
      if (html) {
        gallery.push(
          `<h3>${escapeHtml(`${groupLabel(run)}, seed ${run.seed}`)}</h3>\n` +
            `<div class="gallery">\n${html}\n</div>`,
        );
      }
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genbench report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>genbench report</h1>
<p class="note">Results from <code>${escapeHtml(input.resultsDir)}</code>, generated ${
    escapeHtml(input.generatedAt)
  }: ${input.runs.length} run(s) in ${input.tables.length} table(s). Each table answers one
question, a ranked summary first. ${escapeHtml(CELL_NOTE)}</p>
${(input.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("\n")}
${input.tables.map((t) => tableHtml(t, input.charts)).join("\n")}
${
    unfinished.length
      ? `<p>Not counted in the tables: ${
        unfinished.map((r) => `${escapeHtml(r.id)} (${statusHtml(r.status)})`).join(", ")
      }.</p>`
      : ""
  }
${
    superseded.length
      ? `<p class="note">Superseded by a newer run of the same seed, not counted: ${
        superseded.map((r) => escapeHtml(r.id)).join(", ")
      }.</p>`
      : ""
  }
<h2 id="scatter">Likelihood vs FID</h2>
${
    hasFid
      ? `<div class="charts">\n${section("scatter")}\n</div>`
      : '<p class="note">No run has an <code>fid</code> metric, so there is no NLL-vs-FID ' +
        "scatter.</p>"
  }
<h2 id="curves">Learning curves</h2>
<div class="charts">
${section("curves")}
</div>
<h2 id="samples">Samples and other images</h2>
${gallery.join("\n") || '<p class="note">No run saved an image.</p>'}
<h2 id="provenance">Provenance of every run</h2>
${input.runs.map(provenanceHtml).join("\n")}
<script type="application/json" id="genbench-charts">${jsonForScript(input.charts)}</script>
<script>${input.chartJs}</script>
<script>${app}</script>
</body>
</html>
`;
}
