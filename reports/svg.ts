/**
 * A small SVG writer for the report's bar, line and scatter charts, used only where the native
 * canvas (`@napi-rs/canvas`) cannot load: plain axes, five ticks, bars with error bars, lines,
 * points and a legend. The canvas path draws the same charts with chart.js itself.
 */
import type { ChartSpec } from "./charts.ts";

const W = 800;
const H = 450;
const M = { left: 70, right: 20, top: 40, bottom: 70 };

/** Escape text for XML content and attribute values. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function tickText(value: number): string {
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3)
    ? value.toExponential(1)
    : String(Number(value.toPrecision(6)));
}

interface Point {
  x: number;
  y: number | null;
}

/** Draw `chart` as an SVG document. */
export function chartSvg(chart: ChartSpec): string {
  const { type, data } = chart.config;
  const scales = chart.config.options?.scales ?? {};
  const out: string[] = [];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const bars = type === "bar";
  const labels: string[] = bars ? data.labels : [];
  const datasets: {
    label: string;
    data: (number | null | Point)[];
    errorBars?: (number[] | null)[];
    borderColor?: string;
    backgroundColor?: string | string[];
    legendHidden?: boolean;
  }[] = data.datasets;
  let legendRow = 0;

  const xs: number[] = [];
  const ys: number[] = bars ? [0] : [];
  for (const set of datasets) {
    set.data.forEach((point, i) => {
      const y = typeof point === "object" && point !== null ? point.y : point;
      if (typeof point === "object" && point !== null) xs.push(point.x);
      if (typeof y === "number" && Number.isFinite(y)) ys.push(y);
      for (const v of set.errorBars?.[i] ?? []) if (Number.isFinite(v)) ys.push(v);
    });
  }
  const yTicks = niceTicks(Math.min(...ys, Infinity), Math.max(...ys, -Infinity));
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const py = (v: number) => M.top + plotH * (1 - (v - y0) / (y1 - y0 || 1));
  const xTicks = bars ? [] : niceTicks(Math.min(...xs, Infinity), Math.max(...xs, -Infinity));
  const [x0, x1] = bars ? [0, 1] : [xTicks[0], xTicks[xTicks.length - 1]];
  const px = (v: number) => M.left + plotW * ((v - x0) / (x1 - x0 || 1));

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
      `viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${
      xmlEscape(chart.title)
    }</text>`,
  );
  for (const t of yTicks) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${tickText(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${tickText(t)}</text>`,
    );
  }
  const axisTitle = (axis: string) => scales[axis]?.title?.text as string | undefined;
  if (axisTitle("y")) {
    out.push(
      `<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
        xmlEscape(axisTitle("y")!)
      }</text>`,
    );
  }
  if (axisTitle("x")) {
    out.push(
      `<text x="${M.left + plotW / 2}" y="${H - 30}" text-anchor="middle">${
        xmlEscape(axisTitle("x")!)
      }</text>`,
    );
  }
  out.push(
    `<path d="M${M.left} ${M.top}V${M.top + plotH}H${W - M.right}" fill="none" stroke="#444"/>`,
  );

  if (bars) {
    const slot = plotW / Math.max(1, labels.length);
    labels.forEach((label, i) => {
      const cx = M.left + slot * (i + 0.5);
      out.push(
        `<text x="${cx}" y="${H - M.bottom + 16}" text-anchor="middle">${xmlEscape(label)}</text>`,
      );
      for (const set of datasets) {
        const value = set.data[i] as number | null;
        if (value === null || !Number.isFinite(value)) continue;
        const fill = Array.isArray(set.backgroundColor)
          ? set.backgroundColor[i]
          : set.backgroundColor ?? "#0072B2";
        const top = Math.min(py(value), py(0));
        out.push(
          `<rect x="${cx - slot * 0.3}" y="${top}" width="${slot * 0.6}" ` +
            `height="${Math.abs(py(value) - py(0))}" fill="${xmlEscape(fill)}"/>`,
        );
        const bar = set.errorBars?.[i];
        if (bar && bar.every(Number.isFinite)) {
          const [a, b] = [py(bar[0]), py(bar[1])];
          out.push(
            `<path d="M${cx} ${a}V${b}M${cx - 6} ${a}H${cx + 6}M${cx - 6} ${b}H${cx + 6}" ` +
              `stroke="#222" stroke-width="1.5"/>`,
          );
        }
      }
    });
  } else {
    datasets.forEach((set) => {
      const color = xmlEscape(set.borderColor ?? String(set.backgroundColor ?? "#0072B2"));
      const points = set.data as Point[];
      if (type === "line") {
        // A null breaks the line, as chart.js does without spanGaps.
        let path = "";
        let pen = "M";
        for (const p of points) {
          if (p.y === null || !Number.isFinite(p.y)) {
            pen = "M";
            continue;
          }
          path += `${pen}${px(p.x).toFixed(1)} ${py(p.y).toFixed(1)}`;
          pen = "L";
        }
        out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      } else {
        for (const p of points) {
          if (p.y === null) continue;
          out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="5" fill="${color}"/>`);
        }
      }
      // Legend: top right, inside the plot, at most 12 entries.
      const lx = W - M.right - 190;
      const ly = M.top + 14 + legendRow * 14;
      if (!set.legendHidden && legendRow++ < 12) {
        out.push(
          `<rect x="${lx}" y="${ly - 8}" width="12" height="8" fill="${color}"/>`,
          `<text x="${lx + 16}" y="${ly}">${xmlEscape(set.label)}</text>`,
        );
      }
    });
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
