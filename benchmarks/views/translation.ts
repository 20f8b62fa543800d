/**
 * The view of one translation direction as a PNG grid: four rows of the same test digits, the
 * source image (the digit in the source domain), the model's translation, the ground truth (the
 * digit through the target domain's function) and the cycle reconstruction (the translation
 * translated back), so a reader sees at a glance what the metrics measure.
 */
import type { ImageShape } from "../../datasets/dataset.ts";
import { gridPng } from "./grid.ts";

/** The rows of a translation grid, top to bottom. */
export const TRANSLATION_ROWS = ["source", "translation", "ground truth", "cycle"] as const;

/** The file name of the grid of `from` → `to` (domain names). */
export function translationViewName(from: string, to: string): string {
  return `translation_${from}-to-${to}.png`;
}

/** What one grid shows: the first `columns` images of each of the four arrays. */
export interface TranslationViewImages {
  source: Float32Array;
  translated: Float32Array;
  truth: Float32Array;
  cycled: Float32Array;
}

/** The four-row grid of the first `columns` digits (fewer when there are fewer). */
export function translationGridPng(
  images: TranslationViewImages,
  shape: ImageShape,
  count: number,
  columns = 10,
): Uint8Array {
  const d = shape.height * shape.width;
  const m = Math.min(columns, count);
  const rows = [images.source, images.translated, images.truth, images.cycled];
  const tiles = new Float32Array(rows.length * m * d);
  rows.forEach((row, r) => tiles.set(row.subarray(0, m * d), r * m * d));
  return gridPng(tiles, { ...shape, channels: 1 }, m, 2);
}
