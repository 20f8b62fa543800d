/**
 * Pixel-by-pixel sampling of a PixelRNN (pixelrnn.ts) for all samples at once, one LSTM cell
 * per layer per pixel instead of a forward pass per pixel:
 * - the input layer's taps on the three rows above are one convolution per row (as pixelcnn's
 *   sampler), its taps left of the pixel one small matmul;
 * - Row LSTM: the state-to-state term of a whole row is one convolution over the row above,
 *   the input-to-state term needs the pixel's and its left neighbour's features only;
 * - Diagonal BiLSTM: the left-to-right cell needs the cell above and the cell to the left; the
 *   right-to-left states of a row, which the next row reads (shifted down), are scanned once the
 *   row is complete.
 * The tests check every sampled pixel against the teacher-forced conditionals of pixelrnn.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { lstmCell, type SampledPixelRnn } from "./pixelrnn_cell.ts";
import { drawPixel, pixelUniforms } from "./shared.ts";

type Matrix = tf.Tensor2D;

/** n samples of `model` as a [n, D] array (0/1 or 0..255), driven by uniforms from `noise`. */
export async function samplePixelRnn(
  model: SampledPixelRnn,
  n: number,
  noise: Stream,
): Promise<Float32Array> {
  const { height, width } = model.shape;
  const { units: h, levels, kind } = model.config;
  const f = 2 * h;
  const dims = height * width;
  const layers = kind === "row" ? model.rowLayers.length : model.diagonalLayers.length;
  const held: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    held.push(t);
    return t;
  };
  try {
    const uniforms = keep(pixelUniforms(noise, dims, n, levels === 2));
    const uRows = (tf.split(uniforms, dims, 0) as Matrix[]).map(keep);
    // The input kernel split into the rows above and the taps left of the centre.
    const kernel = keep(model.input.effectiveKernel());
    const inTop = keep(tf.slice(kernel, [0, 0, 0, 0], [3, 7, 1, f]) as tf.Tensor4D);
    const inLeft = keep(tf.reshape(tf.slice(kernel, [3, 0, 0, 0], [1, 3, 1, f]), [3, f]) as Matrix);
    // Row LSTM taps: [left, centre] of the masked 1×3 input-to-state kernel.
    const rowTaps = model.rowLayers.map((layer) => {
      const k = keep(layer.input.effectiveKernel());
      return [0, 1].map((x) =>
        keep(tf.reshape(tf.slice(k, [0, x, 0, 0], [1, 1, f, 4 * h]), [f, 4 * h]) as Matrix)
      );
    });
    const zerosPixel = keep(tf.zeros([n, 1]) as Matrix);
    const zerosState = keep(tf.zeros([n, h]) as Matrix);
    const zerosRow = keep(tf.zeros([n, 1, width, 1]) as tf.Tensor4D);
    const sideways: [number, number][] = [[0, 0], [0, 0], [3, 3], [0, 0]];

    const imageRows: tf.Tensor4D[] = [];
    const samples: Matrix[] = [];
    // State of the row above, per layer: Row LSTM h [n, 1, W, h] and c per column;
    // Diagonal h per column of each direction.
    let aboveH: (tf.Tensor4D | null)[] = Array(layers).fill(null);
    let aboveC: (Matrix[] | null)[] = Array(layers).fill(null);
    let aboveLeft: (Matrix[] | null)[] = Array(layers).fill(null);
    let aboveRight: (Matrix[] | null)[] = Array(layers).fill(null);
    for (let r = 0; r < height; r++) {
      const fromAbove = tf.tidy(() => {
        const rows = [0, 1, 2].map((i) => imageRows[r - 3 + i] ?? zerosRow);
        const a = tf.add(
          tf.conv2d(tf.concat(rows, 1) as tf.Tensor4D, inTop, 1, sideways as never),
          model.input.bias,
        );
        return tf.unstack(tf.reshape(a, [n, width, f]), 1) as Matrix[];
      });
      const stateRow = model.rowLayers.map((layer, l) =>
        aboveH[l]
          ? tf.tidy(() =>
            tf.unstack(
              tf.reshape(
                tf.conv2d(aboveH[l]!, layer.state as tf.Tensor4D, 1, [[0, 0], [0, 0], [1, 1], [
                  0,
                  0,
                ]]),
                [n, width, 4 * h],
              ),
              1,
            ) as Matrix[]
          )
          : null
      );
      const rowPixels: Matrix[] = [];
      // Per layer and column: the layer's input features, its hidden and cell state.
      const inputs: Matrix[][] = Array.from({ length: layers }, () => []);
      const hidden: Matrix[][] = Array.from({ length: layers }, () => []);
      const cells: Matrix[][] = Array.from({ length: layers }, () => []);
      for (let c = 0; c < width; c++) {
        const x = tf.tidy(() => {
          const left = [c - 3, c - 2, c - 1].map((i) => rowPixels[i] ?? zerosPixel);
          let u = tf.add(fromAbove[c], tf.matMul(tf.concat(left, 1), inLeft)) as Matrix;
          for (let l = 0; l < layers; l++) {
            let state: { h: Matrix; c: Matrix };
            let combined: Matrix;
            if (kind === "row") {
              const layer = model.rowLayers[l];
              let gates = tf.add(tf.matMul(u, rowTaps[l][1]), layer.input.bias) as Matrix;
              if (c > 0) gates = tf.add(gates, tf.matMul(inputs[l][c - 1], rowTaps[l][0]));
              if (stateRow[l]) gates = tf.add(gates, stateRow[l]![c]);
              state = lstmCell(gates, aboveC[l]?.[c] ?? null);
              combined = state.h;
            } else {
              const layer = model.diagonalLayers[l];
              const neighbours = tf.concat([
                aboveLeft[l]?.[c] ?? zerosState,
                hidden[l][c - 1] ?? zerosState,
              ], 1);
              const gates = tf.add(
                layer.left.input.apply(u),
                tf.matMul(neighbours, layer.left.state as Matrix),
              ) as Matrix;
              state = lstmCell(gates, cells[l][c - 1] ?? null);
              combined = aboveRight[l] ? tf.add(state.h, aboveRight[l]![c]) : state.h;
            }
            inputs[l].push(tf.keep(u));
            hidden[l].push(tf.keep(state.h));
            cells[l].push(tf.keep(state.c));
            const out = kind === "row" ? model.rowLayers[l].out : model.diagonalLayers[l].out;
            u = tf.add(u, out.apply(combined)) as Matrix;
          }
          return drawPixel(model.applyHead(u), uRows[r * width + c], levels);
        });
        samples.push(x);
        rowPixels.push(levels === 2 ? x : tf.tidy(() => model.scale(x) as Matrix));
      }
      // The row is complete: what the next row reads of it.
      const nextRight: (Matrix[] | null)[] = model.diagonalLayers.map((layer, l) => {
        const states: Matrix[] = Array(width);
        let cell: Matrix | null = null;
        for (let c = width - 1; c >= 0; c--) {
          const next = tf.tidy(() => {
            const neighbours = tf.concat([
              aboveRight[l]?.[c] ?? zerosState,
              states[c + 1] ??
                zerosState,
            ], 1);
            const gates = tf.add(
              layer.right.input.apply(inputs[l][c]),
              tf.matMul(neighbours, layer.right.state as Matrix),
            ) as Matrix;
            return lstmCell(gates, cell);
          });
          cell?.dispose();
          cell = next.c;
          states[c] = next.h;
        }
        (cell as Matrix | null)?.dispose();
        return states;
      });
      const nextH = model.rowLayers.map((_, l) =>
        tf.tidy(() => tf.reshape(tf.stack(hidden[l], 1), [n, 1, width, h]) as tf.Tensor4D)
      );
      tf.dispose([
        ...fromAbove,
        ...stateRow.flatMap((s) => s ?? []),
        ...inputs.flat(),
        ...aboveH.flatMap((s) => s ?? []),
        ...aboveC.flatMap((s) => s ?? []),
        ...aboveLeft.flatMap((s) => s ?? []),
        ...aboveRight.flatMap((s) => s ?? []),
      ]);
      if (kind === "row") {
        aboveH = nextH;
        aboveC = cells;
        tf.dispose(hidden.flat());
      } else {
        aboveLeft = hidden;
        aboveRight = nextRight;
        tf.dispose(cells.flat());
      }
      imageRows.push(tf.tidy(() => tf.reshape(tf.concat(rowPixels, 1), [n, 1, width, 1])));
      if (levels !== 2) tf.dispose(rowPixels);
    }
    tf.dispose([
      ...imageRows,
      ...aboveH.flatMap((s) => s ?? []),
      ...aboveC.flatMap((s) => s ?? []),
      ...aboveLeft.flatMap((s) => s ?? []),
      ...aboveRight.flatMap((s) => s ?? []),
    ]);
    const all = tf.concat(samples, 1);
    tf.dispose(samples);
    try {
      return await all.data() as Float32Array;
    } finally {
      all.dispose();
    }
  } finally {
    tf.dispose(held);
  }
}
