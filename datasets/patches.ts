/**
 * Key patches cut from images, for completion from a few local patches (Lee, Yun, Choi, Yoo,
 * Yang & Oh 2018, "Unsupervised Holistic Image Generation from Key Local Patches"): C candidate
 * squares of P×P pixels at positions drawn from a seeded stream, of which the K with the most ink
 * (sum of values; ties in candidate order) are the key patches — the paper's key patches are
 * informative regions, and a blank square of an MNIST digit says nothing of where it belongs —;
 * the union of the K squares is the true mask. The flat indices that cut them serve the host
 * arrays (the evaluation) and a tensor gather (the model's training step) alike.
 *
 * Images are row-major HWC rows of D = H·W·C values; a patch is P·P·C values in the same order;
 * positions are the (row, column) of each patch's top-left pixel.
 */
import { UsageError } from "../core/errors.ts";
import type { Stream } from "../core/rng.ts";
import type { ImageShape } from "./dataset.ts";

/**
 * How the patches are laid out: the K of C candidate squares of P×P pixels with the most ink,
 * none within `margin` of the border.
 */
export interface PatchLayout {
  /** K, patches per image. */
  count: number;
  /** C ≥ K, candidate squares per image the K are chosen from (C = K: no choice). */
  candidates: number;
  /** P, the side of a patch in pixels. */
  size: number;
  /** Pixels along each border that no patch covers (MNIST digits sit in the central 20×20). */
  margin: number;
}

/** Refuses a layout that does not fit `shape`, in one line starting with `where`. */
export function checkPatchLayout(where: string, layout: PatchLayout, shape: ImageShape): void {
  const { count, size, margin, candidates } = layout;
  const side = Math.min(shape.height, shape.width);
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(size) && size >= 1)) {
    throw new UsageError(`${where}: patches and patchSize should be integers ≥ 1`);
  }
  if (!(Number.isInteger(candidates) && candidates >= count)) {
    throw new UsageError(
      `${where}: candidates (${candidates}) should be an integer ≥ patches (${count})`,
    );
  }
  if (!(Number.isInteger(margin) && margin >= 0) || size + 2 * margin > side) {
    throw new UsageError(
      `${where}: patches of ${size}×${size} with a margin of ${margin} do not fit ` +
        `${shape.height}×${shape.width} images (expected patchSize + 2·margin ≤ ${side})`,
    );
  }
}

/** Values of one patch: P·P·C. */
export function patchValues(layout: PatchLayout, shape: ImageShape): number {
  return layout.size * layout.size * shape.channels;
}

/**
 * Top-left (row, column) of each of the C candidate squares of `n` images, [n × C × 2], each
 * uniform over the positions that keep the square inside the margin. Draws 2·n·C integers.
 */
export function drawPatchPositions(
  stream: Stream,
  n: number,
  layout: PatchLayout,
  shape: ImageShape,
): Int32Array {
  const rows = shape.height - 2 * layout.margin - layout.size + 1;
  const cols = shape.width - 2 * layout.margin - layout.size + 1;
  const out = new Int32Array(n * layout.candidates * 2);
  for (let j = 0; j < n * layout.candidates; j++) {
    out[2 * j] = layout.margin + stream.int(rows);
    out[2 * j + 1] = layout.margin + stream.int(cols);
  }
  return out;
}

/**
 * Flat indices into the `n` images (as one array of n·D values) of every value of the `count`
 * squares per image at `positions` [n × count × 2], in the order [n × count × P × P × C]:
 * `patches[j] = images[indices[j]]`.
 */
export function patchIndices(
  positions: Int32Array,
  n: number,
  layout: PatchLayout,
  shape: ImageShape,
  count = layout.count,
): Int32Array {
  const { size } = layout;
  const { height, width, channels } = shape;
  const dim = height * width * channels;
  const per = patchValues(layout, shape);
  const out = new Int32Array(n * count * per);
  let j = 0;
  for (let p = 0; p < n * count; p++) {
    const image = Math.floor(p / count);
    const top = positions[2 * p];
    const left = positions[2 * p + 1];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const pixel = (top + y) * width + left + x;
        for (let c = 0; c < channels; c++) out[j++] = image * dim + pixel * channels + c;
      }
    }
  }
  return out;
}

/**
 * The positions [n × K × 2] of the K key patches among the candidates [n × C × 2]: the K squares
 * with the most ink, most first, ties in candidate order.
 */
export function keyPositions(
  images: ArrayLike<number>,
  n: number,
  candidates: Int32Array,
  layout: PatchLayout,
  shape: ImageShape,
): Int32Array {
  const c = layout.candidates;
  const k = layout.count;
  const per = patchValues(layout, shape);
  const indices = patchIndices(candidates, n, layout, shape, c);
  const out = new Int32Array(n * k * 2);
  for (let i = 0; i < n; i++) {
    const ink = Array.from({ length: c }, (_, j) => {
      let sum = 0;
      for (let v = 0; v < per; v++) sum += images[indices[(i * c + j) * per + v]];
      return sum;
    });
    const order = Array.from({ length: c }, (_, j) => j).sort((a, b) => ink[b] - ink[a] || a - b);
    for (let j = 0; j < k; j++) {
      out[2 * (i * k + j)] = candidates[2 * (i * c + order[j])];
      out[2 * (i * k + j) + 1] = candidates[2 * (i * c + order[j]) + 1];
    }
  }
  return out;
}

/** The patches [n × K × P·P·C] of `n` images at `positions` [n × K × 2]. */
export function cutPatches(
  images: ArrayLike<number>,
  n: number,
  positions: Int32Array,
  layout: PatchLayout,
  shape: ImageShape,
): Float32Array {
  const indices = patchIndices(positions, n, layout, shape);
  return Float32Array.from(indices, (i) => images[i]);
}

/**
 * The masks [n × D] of `count` squares per image at `positions` (the true masks of the K key
 * patches by default): 1 on every value a square covers (their union), else 0.
 */
export function patchMasks(
  positions: Int32Array,
  n: number,
  layout: PatchLayout,
  shape: ImageShape,
  count = layout.count,
): Float32Array {
  const out = new Float32Array(n * shape.height * shape.width * shape.channels);
  for (const i of patchIndices(positions, n, layout, shape, count)) out[i] = 1;
  return out;
}
