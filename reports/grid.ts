/** Image grids as PNG files (greyscale, via the `fast-png` encoder). */
import { encode } from "fast-png";
import type { ImageShape } from "../datasets/dataset.ts";

/**
 * Tile `count` images (values in [0, 1], row-major HWC) into a grid `columns` wide with a
 * 1-pixel border, scaled up by `scale`, as greyscale PNG bytes (the first channel only).
 */
export function gridPng(
  images: Float32Array,
  shape: ImageShape,
  columns: number,
  scale = 2,
): Uint8Array {
  const dim = shape.height * shape.width * shape.channels;
  const count = Math.floor(images.length / dim);
  const rows = Math.max(1, Math.ceil(count / columns));
  const cellW = shape.width + 1;
  const cellH = shape.height + 1;
  const width = (columns * cellW + 1) * scale;
  const height = (rows * cellH + 1) * scale;
  const pixels = new Uint8Array(width * height).fill(128);
  for (let n = 0; n < count; n++) {
    const x0 = ((n % columns) * cellW + 1) * scale;
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
