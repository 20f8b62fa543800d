/** Image grids as PNG files (greyscale, via the `fast-png` encoder). */
import { encode } from "fast-png";
import type { ImageShape } from "../../datasets/dataset.ts";

/**
 * A 3×5 pixel font: capitals, digits, the captions' punctuation and a lowercase `z` (row labels
 * such as `z12`); each glyph is five rows of three bits, most significant bit on the left.
 */
export const PIXEL_FONT: Record<string, number[]> = {
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [3, 4, 4, 4, 3],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [3, 4, 5, 5, 3],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4],
  Q: [2, 5, 5, 6, 3],
  R: [6, 5, 6, 5, 5],
  S: [3, 4, 2, 1, 6],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  // Lowercase, for the latent traversal's row labels (`z12`).
  z: [0, 7, 1, 2, 7],
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 7, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 1, 1],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
  ",": [0, 0, 0, 2, 4],
  "-": [0, 0, 7, 0, 0],
  " ": [0, 0, 0, 0, 0],
};

/** Width in font pixels of a label (3 per glyph, 1 between glyphs). */
function labelWidth(text: string): number {
  return text.length ? 4 * text.length - 1 : 0;
}

/**
 * Tile `count` images (values in [0, 1], row-major HWC) into a grid `columns` wide with a
 * 1-pixel border, scaled up by `scale`, as greyscale PNG bytes (the first channel only). With
 * `rowLabels`, a white margin on the left names each row in the 3×5 pixel font.
 */
export function gridPng(
  images: Float32Array,
  shape: ImageShape,
  columns: number,
  scale = 2,
  rowLabels: string[] = [],
): Uint8Array {
  const dim = shape.height * shape.width * shape.channels;
  const count = Math.floor(images.length / dim);
  const rows = Math.max(1, Math.ceil(count / columns));
  const cellW = shape.width + 1;
  const cellH = shape.height + 1;
  const margin = rowLabels.length ? Math.max(...rowLabels.map(labelWidth)) + 2 : 0;
  const width = (margin + columns * cellW + 1) * scale;
  const height = (rows * cellH + 1) * scale;
  const pixels = new Uint8Array(width * height).fill(128);
  const set = (x: number, y: number, value: number) => {
    for (let dy = 0; dy < scale; dy++) {
      pixels.fill(
        value,
        (y * scale + dy) * width + x * scale,
        (y * scale + dy) * width + (x + 1) * scale,
      );
    }
  };
  if (margin) {
    for (let y = 0; y < rows * cellH + 1; y++) for (let x = 0; x < margin; x++) set(x, y, 255);
    rowLabels.slice(0, rows).forEach((label, r) => {
      const top = r * cellH + 1 + Math.floor((shape.height - 5) / 2);
      [...label].forEach((c, i) => {
        const glyph = PIXEL_FONT[c] ?? PIXEL_FONT[" "];
        for (let gy = 0; gy < 5; gy++) {
          for (let gx = 0; gx < 3; gx++) {
            if (glyph[gy] & (4 >> gx)) set(1 + 4 * i + gx, top + gy, 0);
          }
        }
      });
    });
  }
  for (let n = 0; n < count; n++) {
    const x0 = (margin + (n % columns) * cellW + 1) * scale;
    const y0 = (Math.floor(n / columns) * cellH + 1) * scale;
    for (let y = 0; y < shape.height * scale; y++) {
      for (let x = 0; x < shape.width * scale; x++) {
        const source = n * dim + (Math.floor(y / scale) * shape.width + Math.floor(x / scale)) *
            shape.channels;
        const value = Math.min(1, Math.max(0, images[source]));
        pixels[(y0 + y) * width + x0 + x] = Math.round(255 * value);
      }
    }
  }
  return encode({ width, height, data: pixels, channels: 1, depth: 8 });
}
