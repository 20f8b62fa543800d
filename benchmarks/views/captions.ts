/**
 * Caption → samples: one row per caption, the caption written in a 3×5 pixel capital font in a
 * white margin on the left, then that caption's samples (benchmarks/evaluations/text2image.ts
 * saves it as `captions.png`). The rows are composed as wide images and tiled by `gridPng`.
 */
import type { ImageShape } from "../../datasets/dataset.ts";
import { gridPng, PIXEL_FONT } from "./grid.ts";

/** Font pixels per character (3 wide and 1 apart). */
const ADVANCE = 4;

/**
 * `text` drawn dark on white into a `height`-row strip `width` pixels wide (values in [0, 1]),
 * in capitals, vertically centred, cut at the strip's width; unknown characters print blank.
 */
export function textStrip(text: string, width: number, height: number): Float32Array {
  const strip = new Float32Array(width * height).fill(1);
  const top = Math.max(0, Math.floor((height - 5) / 2));
  [...text.toUpperCase()].forEach((c, i) => {
    const glyph = PIXEL_FONT[c] ?? PIXEL_FONT[" "];
    for (let gy = 0; gy < 5 && top + gy < height; gy++) {
      for (let gx = 0; gx < 3; gx++) {
        const x = 1 + ADVANCE * i + gx;
        if (x < width && glyph[gy] & (4 >> gx)) strip[(top + gy) * width + x] = 0;
      }
    }
  });
  return strip;
}

/**
 * The view as PNG bytes: row r shows `captions[r]` and the `perRow` single-channel images
 * `images[r·perRow …]` (values in [0, 1]), 1 pixel apart; scaled by `scale`.
 */
export function captionRowsPng(
  captions: readonly string[],
  images: Float32Array,
  shape: ImageShape,
  perRow: number,
  scale = 2,
): Uint8Array {
  const { height, width } = shape;
  const dim = height * width * shape.channels;
  if (images.length !== captions.length * perRow * dim) {
    throw new Error(
      `caption view: ${images.length} values are not ${captions.length}×${perRow} images`,
    );
  }
  const margin = Math.max(...captions.map((c) => ADVANCE * c.length + 1));
  const rowWidth = margin + perRow * (width + 1);
  const rows = new Float32Array(captions.length * height * rowWidth).fill(0.5);
  captions.forEach((caption, r) => {
    const base = r * height * rowWidth;
    const text = textStrip(caption, margin, height);
    for (let y = 0; y < height; y++) {
      rows.set(text.subarray(y * margin, (y + 1) * margin), base + y * rowWidth);
      for (let k = 0; k < perRow; k++) {
        const image = (r * perRow + k) * dim;
        for (let x = 0; x < width; x++) {
          rows[base + y * rowWidth + margin + k * (width + 1) + 1 + x] =
            images[image + (y * width + x) * shape.channels];
        }
      }
    }
  });
  return gridPng(rows, { height, width: rowWidth, channels: 1 }, 1, scale);
}
