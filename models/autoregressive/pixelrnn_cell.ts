/**
 * The parts of a PixelRNN that both the model (pixelrnn.ts) and its cell-by-cell sampler
 * (pixelrnn_sample.ts) use: the layer shapes, one LSTM cell, and what the sampler reads of a
 * model. Kept apart so that neither of the two files imports the other in a circle.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { Dense } from "../layers/nn.ts";
import type { MaskedConv2d } from "../layers/conv.ts";

export type PixelRnnKind = "row" | "diagonal";

/** Sizes of a PixelRNN: LSTM layers, units h per layer, 2 (binary) or 256 levels per pixel. */
export interface PixelRnnConfig {
  kind: PixelRnnKind;
  layers: number;
  units: number;
  levels: number;
  learningRate: number;
}

/** One Row LSTM layer: masked 1×3 input-to-state, 1×3 state-to-state, 1×1 residual output. */
export interface RowLayer {
  input: MaskedConv2d;
  state: tf.Variable;
  out: Dense;
}

/** One direction of a Diagonal BiLSTM layer: 1×1 input-to-state, 2×1 state-to-state ([2h, 4h]). */
export interface Direction {
  input: Dense;
  /** Rows 0..h−1 weigh the state above, rows h..2h−1 the state to the left (in scan order). */
  state: tf.Variable;
}

/** One Diagonal BiLSTM layer: two directions and the 1×1 residual output. */
export interface DiagonalLayer {
  left: Direction;
  right: Direction;
  out: Dense;
}

/** One LSTM cell on gates [N, 4h] (i, f, o, g) and the previous cell state [N, h] (null: zero). */
export function lstmCell(
  gates: tf.Tensor2D,
  previous: tf.Tensor2D | null,
): { h: tf.Tensor2D; c: tf.Tensor2D } {
  return tf.tidy(() => {
    const [i, f, o, g] = tf.split(gates, 4, 1) as tf.Tensor2D[];
    const fresh = tf.mul(tf.sigmoid(i), tf.tanh(g));
    const c = (previous ? tf.add(tf.mul(tf.sigmoid(f), previous), fresh) : fresh) as tf.Tensor2D;
    return { h: tf.mul(tf.sigmoid(o), tf.tanh(c)) as tf.Tensor2D, c };
  });
}

/** What the sampler reads of a PixelRNN. */
export interface SampledPixelRnn {
  readonly shape: ImageShape;
  readonly config: PixelRnnConfig;
  readonly input: MaskedConv2d;
  readonly rowLayers: RowLayer[];
  readonly diagonalLayers: DiagonalLayer[];
  /** Pixel values 0/1 or 0..255 in the units the network reads. */
  scale(x: tf.Tensor): tf.Tensor;
  /** The output head on [N, 2h] features: logits [N, 1] or [N, 256]. */
  applyHead(u: tf.Tensor2D): tf.Tensor2D;
}
