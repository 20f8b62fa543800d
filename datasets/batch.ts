/** Turning rows of a split into the tensor a model trains or is evaluated on. */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../core/rng.ts";

/**
 * How the model sees pixels: `binary` = 0/1 (dynamically binarized for training, the static
 * binarization for evaluation), `grey` = pixel/255 in [0, 1], `byte` = the integer pixel
 * values 0..255 as floats (8-bit likelihoods, reported in bits/dim).
 */
export type InputKind = "binary" | "grey" | "byte";

/**
 * Rows `rows` of an N×D byte matrix as the [rows, D] float32 tensor a model of input `kind`
 * expects. For `binary`: the static binarization `binary` when given (evaluation), else fresh
 * Bernoulli draws from `binarizer` (dynamic binarization for training).
 */
export function inputBatch(
  images: Uint8Array,
  binary: Uint8Array | null,
  dim: number,
  rows: ArrayLike<number>,
  kind: InputKind,
  binarizer: Stream | null,
): tf.Tensor2D {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const source = rows[i] * dim;
    const target = i * dim;
    for (let j = 0; j < dim; j++) {
      const pixel = images[source + j];
      if (kind === "grey") out[target + j] = pixel / 255;
      else if (kind === "byte") out[target + j] = pixel;
      else if (binary) out[target + j] = binary[source + j];
      else out[target + j] = binarizer!.uniform() * 255 < pixel ? 1 : 0;
    }
  }
  return tf.tensor2d(out, [rows.length, dim]);
}
