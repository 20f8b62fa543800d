/**
 * The completion view: one row per test image — its K key patches as the model got them (each
 * centred in a mid-grey cell: the positions are hidden from the model), then the completion,
 * the predicted mask, and the source image.
 */
import type { ImageShape } from "../../datasets/dataset.ts";
import { type PatchLayout, patchValues } from "../../datasets/patches.ts";
import { gridPng } from "./grid.ts";

/** The file the view writes into a run's folder. */
export const COMPLETION_VIEW = "completion.png";

/** What one row of the view shows. */
export interface CompletionRows {
  /** Rows shown (the first `rows` images of the arrays below). */
  rows: number;
  /** [≥ rows × K × P·P·C] in [0, 1]. */
  patches: Float32Array;
  /** Completions, masks and sources, [≥ rows × D] in [0, 1]. */
  completed: Float32Array;
  masks: Float32Array;
  sources: Float32Array;
}

/** One image of `shape` showing a P×P patch at its centre on mid-grey. */
function patchCell(
  patch: Float32Array,
  layout: PatchLayout,
  shape: ImageShape,
): Float32Array {
  const { height, width, channels } = shape;
  const cell = new Float32Array(height * width * channels).fill(0.5);
  const top = Math.floor((height - layout.size) / 2);
  const left = Math.floor((width - layout.size) / 2);
  for (let y = 0; y < layout.size; y++) {
    for (let x = 0; x < layout.size; x++) {
      for (let c = 0; c < channels; c++) {
        cell[((top + y) * width + left + x) * channels + c] =
          patch[(y * layout.size + x) * channels + c];
      }
    }
  }
  return cell;
}

/** The view as PNG bytes: K + 3 columns (patches, completion, mask, source), one row per image. */
export function completionViewPng(
  view: CompletionRows,
  layout: PatchLayout,
  shape: ImageShape,
): Uint8Array {
  const dim = shape.height * shape.width * shape.channels;
  const per = patchValues(layout, shape);
  const columns = layout.count + 3;
  const tiles = new Float32Array(view.rows * columns * dim);
  for (let r = 0; r < view.rows; r++) {
    const row = (column: number, image: Float32Array) =>
      tiles.set(image, (r * columns + column) * dim);
    for (let k = 0; k < layout.count; k++) {
      const at = (r * layout.count + k) * per;
      row(k, patchCell(view.patches.subarray(at, at + per), layout, shape));
    }
    row(layout.count, view.completed.subarray(r * dim, (r + 1) * dim));
    row(layout.count + 1, view.masks.subarray(r * dim, (r + 1) * dim));
    row(layout.count + 2, view.sources.subarray(r * dim, (r + 1) * dim));
  }
  return gridPng(tiles, shape, columns, 2);
}
