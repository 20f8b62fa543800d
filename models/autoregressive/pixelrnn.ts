/**
 * PixelRNN (van den Oord, Kalchbrenner & Kavukcuoglu, ICML 2016, "Pixel Recurrent Neural
 * Networks"): `pixelrnn-row` (Row LSTM) and `pixelrnn-diagonal` (Diagonal BiLSTM).
 *
 * Architecture: a masked 7×7 type-A convolution to 2h channels → `layers` LSTM
 * layers of h units, each followed by a 1×1 convolution back to 2h channels added to its input
 * (the paper's residual connection) → ReLU, 1×1 (2h), ReLU, 1×1 → one logit per pixel (`bits: 1`)
 * or 256 (`bits: 8`). Canonical: 7 layers, h = 16.
 * - Row LSTM: rows top to bottom; input-to-state is a 1×3 convolution along the row whose
 *   right tap is masked (it sees the pixel's own input features and its left neighbour's);
 *   state-to-state is a 1×3 convolution over the previous row's hidden state, so the receptive
 *   field above is a triangle.
 * - Diagonal BiLSTM: the input map is skewed (row r shifted right by r) and scanned column by
 *   column; input-to-state is a 1×1 convolution, state-to-state a 2×1 convolution over the
 *   previous column (in image terms: the cell above and the cell to the left). The right-to-left
 *   direction runs on the mirrored image; its output is shifted down one row before the two are
 *   added, so that no pixel of the current row to the right leaks in.
 * The LSTM gates are input, forget, output (sigmoid) and content (tanh); c = f⊙c' + i⊙g,
 * h = o⊙tanh(c), where c' is the cell above (Row LSTM) or to the left (Diagonal).
 *
 * Exact NLL as every autoregressive model here. Sampling (pixelrnn_sample.ts) computes one LSTM
 * cell per layer per pixel, caching the row above: ≈ one forward pass per image.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelArgs, ModelSpec, PublishedReference } from "../model.ts";
import { type OptionSchema } from "../options.ts";
import { Dense, glorotLimit, uniformVariable } from "../layers/nn.ts";
import { dense } from "../../core/webgpu/dense.ts";
import { MaskedConv2d } from "../layers/conv.ts";
import { checkSingleChannel } from "../layers/checks.ts";
import {
  bitsOption,
  type CustomGradient,
  inputKindForBits,
  intOption,
  pixelLogProb,
  pixelNllStep,
  pixelOutputs,
  positiveOption,
} from "./shared.ts";
import { samplePixelRnn } from "./pixelrnn_sample.ts";
import {
  type DiagonalLayer,
  type Direction,
  lstmCell,
  type PixelRnnConfig,
  type PixelRnnKind,
  type RowLayer,
  type SampledPixelRnn,
} from "./pixelrnn_cell.ts";

export type {
  DiagonalLayer,
  Direction,
  PixelRnnConfig,
  PixelRnnKind,
  RowLayer,
} from "./pixelrnn_cell.ts";

/**
 * Row r of image-shaped [B, H, W, C] moved right by r: [B, H, W + H − 1, C]. Rows padded to
 * W + H and read back H·(W + H − 1) values at a time: each row then starts one further right.
 */
function skew(x: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const padded = tf.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]]);
  const flat = tf.reshape(padded, [batch, height * (width + height), channels]);
  const kept = tf.slice(flat, [0, 0, 0], [batch, height * (width + height - 1), channels]);
  return tf.reshape(kept, [batch, height, width + height - 1, channels]);
}

/** The inverse of {@link skew}: [B, H, W + H − 1, C] → [B, H, W, C], by the same reshaping. */
function unskew(x: tf.Tensor4D, width: number): tf.Tensor4D {
  const [batch, height, span, channels] = x.shape;
  const flat = tf.pad(tf.reshape(x, [batch, height * span, channels]), [[0, 0], [0, height], [
    0,
    0,
  ]]);
  const rows = tf.reshape(flat, [batch, height, span + 1, channels]);
  return tf.slice(rows, [0, 0, 0, 0], [batch, height, width, channels]) as tf.Tensor4D;
}

/**
 * x [N, …] as N tensors [...] (`tf.unstack`), by halving: wasm's slice copies its whole input
 * for every piece, so N pieces at once cost N·|x|, halving 2·|x|·log₂N.
 */
function leadingSlices(x: tf.Tensor4D): tf.Tensor3D[] {
  const [n, a, b, c] = x.shape;
  if (n === 1) return [tf.reshape(x, [a, b, c])];
  const half = n >> 1;
  const [first, second] = tf.split(x, [half, n - half], 0) as tf.Tensor4D[];
  return [...leadingSlices(first), ...leadingSlices(second)];
}

/** [B, H, W, C] through a 1×1 layer with kernel [C, C'] and bias [C']. */
function pointwise(x: tf.Tensor4D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const y = dense(tf.reshape(x, [-1, c]), kernel as tf.Tensor2D, bias as tf.Tensor1D);
  return tf.reshape(y, [b, h, w, y.shape[1]]) as tf.Tensor4D;
}

/** The Row LSTM input-to-state mask on the 1×3 kernel: left and centre taps only. */
const ROW_INPUT_MASK = (_y: number, x: number) => x <= 1;

/**
 * A Row LSTM layer with residual output, u [B, H, W, 2h] → same, from its weights
 * [input kernel (masked here), input bias, state kernel, out kernel, out bias].
 */
export function rowLayer(u: tf.Tensor4D, weights: tf.Tensor[], mask: tf.Tensor): tf.Tensor4D {
  const [inKernel, inBias, stateKernel, outKernel, outBias] = weights;
  const [batch, height, width] = u.shape;
  const h = stateKernel.shape[2]!;
  const pre = tf.add(
    tf.conv2d(u, tf.mul(inKernel, mask) as tf.Tensor4D, 1, [[0, 0], [0, 0], [1, 1], [0, 0]]),
    inBias,
  );
  // Rows leading, so that each step reads and writes contiguous memory.
  const rows = leadingSlices(tf.transpose(pre, [1, 0, 2, 3]) as tf.Tensor4D);
  let state: tf.Tensor4D | null = null;
  let cell: tf.Tensor2D | null = null;
  const out: tf.Tensor3D[] = [];
  for (let r = 0; r < height; r++) {
    let gates = tf.reshape(rows[r], [batch * width, 4 * h]) as tf.Tensor2D;
    if (state) {
      const same: [number, number][] = [[0, 0], [0, 0], [1, 1], [0, 0]];
      const fromAbove = tf.conv2d(state, stateKernel as tf.Tensor4D, 1, same as never);
      gates = tf.add(gates, tf.reshape(fromAbove, [batch * width, 4 * h]));
    }
    const next = lstmCell(gates, cell);
    cell = next.c;
    state = tf.reshape(next.h, [batch, 1, width, h]) as tf.Tensor4D;
    out.push(tf.reshape(next.h, [batch, width, h]) as tf.Tensor3D);
  }
  const hidden = tf.transpose(tf.stack(out), [1, 0, 2, 3]) as tf.Tensor4D;
  return tf.add(u, pointwise(hidden, outKernel, outBias));
}

/** One direction's scan over the skewed map: hidden states [B, H, W, h] from u [B, H, W, 2h]. */
function diagonalScan(
  u: tf.Tensor4D,
  inKernel: tf.Tensor,
  inBias: tf.Tensor,
  stateKernel: tf.Tensor,
): tf.Tensor4D {
  const [batch, height, width] = u.shape;
  const h = stateKernel.shape[0]! / 2;
  // Skewed columns leading and rows next ([S, H, B, 4h]): contiguous slices per step.
  const skewed = tf.transpose(skew(pointwise(u, inKernel, inBias)), [2, 1, 0, 3]);
  const columns = leadingSlices(skewed as tf.Tensor4D);
  let state: tf.Tensor3D | null = null;
  let cell: tf.Tensor2D | null = null;
  const out: tf.Tensor3D[] = [];
  for (const column of columns) {
    let gates = tf.reshape(column, [height * batch, 4 * h]) as tf.Tensor2D;
    if (state) {
      // The state one row up in the previous skewed column is the cell above in the image.
      const above = tf.pad(tf.slice(state, [0, 0, 0], [height - 1, batch, h]), [[1, 0], [0, 0], [
        0,
        0,
      ]]);
      const both = tf.reshape(tf.concat([above, state], 2), [height * batch, 2 * h]);
      gates = tf.add(gates, tf.matMul(both, stateKernel as tf.Tensor2D));
    }
    const next = lstmCell(gates, cell);
    cell = next.c;
    state = tf.reshape(next.h, [height, batch, h]) as tf.Tensor3D;
    out.push(state);
  }
  return unskew(tf.transpose(tf.stack(out), [2, 1, 0, 3]) as tf.Tensor4D, width);
}

/**
 * A Diagonal BiLSTM layer with residual output: left-to-right states plus right-to-left
 * states one row down. Weights: [left input kernel, bias, state; right …; out kernel, bias].
 */
export function diagonalLayer(u: tf.Tensor4D, weights: tf.Tensor[]): tf.Tensor4D {
  const [inL, biasL, stateL, inR, biasR, stateR, outKernel, outBias] = weights;
  const [batch, height, width] = u.shape;
  const h = stateL.shape[0]! / 2;
  const left = diagonalScan(u, inL, biasL, stateL);
  const mirrored = tf.reverse(diagonalScan(tf.reverse(u, 2), inR, biasR, stateR), 2);
  // Row r takes the right-to-left state of row r − 1: it has seen only rows < r.
  const shifted = tf.pad(tf.slice(mirrored, [0, 0, 0, 0], [batch, height - 1, width, h]), [
    [0, 0],
    [1, 0],
    [0, 0],
    [0, 0],
  ]);
  return tf.add(u, pointwise(tf.add(left, shifted) as tf.Tensor4D, outKernel, outBias));
}

/**
 * `layer(u, weights)` whose backward pass recomputes the layer instead of keeping its
 * intermediates: a recurrent layer's tape holds every step's gates (gigabytes at batch 128,
 * more than the wasm heap), so only each layer's input is kept.
 */
export function recomputed(
  layer: (u: tf.Tensor4D, weights: tf.Tensor[]) => tf.Tensor4D,
  u: tf.Tensor4D,
  weights: tf.Tensor[],
): tf.Tensor4D {
  const run = tf.customGrad(
    ((...args: unknown[]) => {
      const save = args.pop() as (tensors: tf.Tensor[]) => void;
      const inputs = args as tf.Tensor[];
      save(inputs);
      return {
        // Only the output survives the forward pass; the backward pass recomputes the rest.
        value: tf.tidy(() => layer(inputs[0] as tf.Tensor4D, inputs.slice(1))),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          // A gradient taken inside a backward pass replaces the engine's tape and clears it
          // when done; the outer pass still needs its own, so it is put back.
          const engine = tf.engine() as unknown as { state: { activeTape: unknown } };
          const outer = engine.state.activeTape;
          try {
            const grads = tf.grads((...xs: tf.Tensor[]) =>
              layer(xs[0] as tf.Tensor4D, xs.slice(1))
            );
            return grads(saved, dy);
          } finally {
            engine.state.activeTape = outer;
          }
        },
      };
    }) as CustomGradient,
  );
  return run(u, ...weights) as tf.Tensor4D;
}

/** The PixelRNN on single-channel images. */
export class PixelRnn implements GenerativeModel, SampledPixelRnn {
  readonly input: MaskedConv2d;
  readonly rowLayers: RowLayer[] = [];
  readonly diagonalLayers: DiagonalLayer[] = [];
  readonly head: [Dense, Dense];
  readonly #optimizer: tf.Optimizer;
  readonly dims: number;
  readonly name: string;
  /** ROW_INPUT_MASK as a [1, 3, 1, 1] tensor. */
  readonly #rowMask = tf.tensor4d([0, 1, 2].map((x) => ROW_INPUT_MASK(0, x) ? 1 : 0), [1, 3, 1, 1]);

  constructor(readonly shape: ImageShape, readonly config: PixelRnnConfig, init: Stream) {
    const { units: h, layers, levels, kind } = config;
    this.dims = dimOf(shape);
    this.name = `pixelrnn-${kind}`;
    // Type A: the centre row keeps only the taps left of the centre; rows below are skipped.
    this.input = new MaskedConv2d("input", [7, 7, 1, 2 * h], init, [3, 0, 3, 3], {
      rows: 4,
      mask: (y, x) => y < 3 || x < 3,
    });
    for (let l = 0; l < layers; l++) {
      if (kind === "row") {
        this.rowLayers.push({
          // Type B along the row: the left and centre taps, never the right one.
          input: new MaskedConv2d(`lstm${l}/input`, [1, 3, 2 * h, 4 * h], init, [0, 0, 1, 1], {
            mask: ROW_INPUT_MASK,
          }),
          state: uniformVariable([1, 3, h, 4 * h], glorotLimit(3 * h, 12 * h), init),
          out: new Dense(`lstm${l}/out`, h, 2 * h, init),
        });
      } else {
        const direction = (side: string): Direction => ({
          input: new Dense(`lstm${l}/${side}/input`, 2 * h, 4 * h, init),
          state: uniformVariable([2 * h, 4 * h], glorotLimit(2 * h, 4 * h), init),
        });
        this.diagonalLayers.push({
          left: direction("left"),
          right: direction("right"),
          out: new Dense(`lstm${l}/out`, h, 2 * h, init),
        });
      }
    }
    this.head = [
      new Dense("head0", 2 * h, 2 * h, init),
      new Dense("head1", 2 * h, levels === 2 ? 1 : levels, init),
    ];
    this.#optimizer = tf.train.adam(config.learningRate);
  }

  /** Network input from pixels: 0/1 as is, 8-bit values scaled to [0, 1]. */
  scale(x: tf.Tensor): tf.Tensor {
    return this.config.levels === 2 ? x : tf.mul(x, 1 / 255);
  }

  /** The output stage on [N, 2h] features: [N, 1] or [N, levels] logits. */
  applyHead(u: tf.Tensor2D): tf.Tensor2D {
    return this.head[1].apply(this.head[0].apply(tf.relu(u) as tf.Tensor2D, "relu"));
  }

  /** Each LSTM layer's weights in the order its layer function takes them. */
  #layerWeights(): tf.Tensor[][] {
    return [
      ...this.rowLayers.map((
        l,
      ) => [l.input.kernel, l.input.bias, l.state, l.out.kernel, l.out.bias]),
      ...this.diagonalLayers.map((l) => [
        l.left.input.kernel,
        l.left.input.bias,
        l.left.state,
        l.right.input.kernel,
        l.right.input.bias,
        l.right.state,
        l.out.kernel,
        l.out.bias,
      ]),
    ];
  }

  /** Per-pixel logits, teacher-forced: [B, D] (binary) or [B, D, levels]. */
  logits(x: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      const { height, width } = this.shape;
      const batch = x.shape[0];
      let u = this.input.apply(tf.reshape(this.scale(x), [batch, height, width, 1]));
      const mask = this.#rowMask;
      const layer = this.config.kind === "row"
        ? (v: tf.Tensor4D, weights: tf.Tensor[]) => rowLayer(v, weights, mask)
        : diagonalLayer;
      for (const weights of this.#layerWeights()) u = recomputed(layer, u, weights);
      const out = this.applyHead(tf.reshape(u, [-1, 2 * this.config.units]));
      return pixelOutputs(out, batch, this.dims, this.config.levels);
    });
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return pixelLogProb(this, x);
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    return pixelNllStep(this, this.#optimizer, batch);
  }

  sample(n: number, noise: Stream): Promise<Float32Array> {
    return samplePixelRnn(this, n, noise);
  }

  weights(): Map<string, tf.Variable> {
    const named: [string, tf.Variable][] = [...this.input.variables()];
    this.rowLayers.forEach((layer, l) => {
      named.push(...layer.input.variables(), [`lstm${l}/state`, layer.state]);
      named.push(...layer.out.variables());
    });
    this.diagonalLayers.forEach((layer, l) => {
      for (const [side, d] of [["left", layer.left], ["right", layer.right]] as const) {
        named.push(...d.input.variables(), [`lstm${l}/${side}/state`, d.state]);
      }
      named.push(...layer.out.variables());
    });
    for (const dense of this.head) named.push(...dense.variables());
    return new Map(named);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    tf.dispose([...this.weights().values()]);
    this.input.dispose();
    this.rowLayers.forEach((layer) => layer.input.dispose());
    this.#optimizer.dispose();
    this.#rowMask.dispose();
  }
}

const OPTIONS: OptionSchema = {
  bits: { type: "int", default: 1, min: 1, max: 8, doc: "1: binarized pixels; 8: 256 levels" },
  layers: { type: "int", default: 7, min: 1, doc: "LSTM layers" },
  units: { type: "int", default: 16, min: 1, doc: "hidden units h per LSTM layer" },
  batchSize: { type: "int", default: 128, min: 1, doc: "training batch size" },
  learningRate: { type: "number", default: 1e-3, above: 0, doc: "Adam learning rate" },
};

const PAPER = "van den Oord, Kalchbrenner & Kavukcuoglu 2016, Pixel Recurrent Neural Networks";

function createPixelRnn(kind: PixelRnnKind, { shape, options, init }: ModelArgs): PixelRnn {
  const name = `pixelrnn-${kind}`;
  const bits = bitsOption(name, options, [1, 8]);
  checkSingleChannel(name, shape);
  return new PixelRnn(shape, {
    kind,
    layers: intOption(name, options, "layers"),
    units: intOption(name, options, "units"),
    levels: bits === 8 ? 256 : 2,
    learningRate: positiveOption(name, options, "learningRate"),
  }, init);
}

const ROW_REFERENCES: readonly PublishedReference[] = [{
  paper: PAPER,
  metric: "nll_nats",
  value: 80.54,
  unit: "nats",
  kind: "exact",
  dataset: "mnist",
  protocol: { binarization: "static" },
  status: "unconfirmed",
  note: "the MNIST table's Row LSTM line as quoted secondhand; not read in the paper itself",
}];

const DIAGONAL_REFERENCES: readonly PublishedReference[] = [{
  paper: PAPER,
  metric: "nll_nats",
  value: 79.2,
  unit: "nats",
  kind: "exact",
  dataset: "mnist",
  protocol: { binarization: "static", architecture: "Diagonal BiLSTM, 7 layers, h = 16" },
  status: "confirmed",
}];

/**
 * `pixelrnn-row`. Options: `bits` (1 or 8), `layers` (7), `units` (16), `batchSize`,
 * `learningRate`.
 */
export const pixelRnnRowSpec: ModelSpec = {
  name: "pixelrnn-row",
  family: "autoregressive",
  description:
    "PixelRNN Row LSTM (van den Oord et al. 2016): masked 7×7 A + 7 Row LSTM layers, h=16",
  capabilities: ["sample", "exact-likelihood"],
  input: inputKindForBits,
  options: OPTIONS,
  references: ROW_REFERENCES,
  create: (args) => createPixelRnn("row", args),
};

/** `pixelrnn-diagonal`: the Diagonal BiLSTM; the same options as `pixelrnn-row`. */
export const pixelRnnDiagonalSpec: ModelSpec = {
  name: "pixelrnn-diagonal",
  family: "autoregressive",
  description:
    "PixelRNN Diagonal BiLSTM (van den Oord et al. 2016): masked 7×7 A + 7 BiLSTM layers, h=16",
  capabilities: ["sample", "exact-likelihood"],
  input: inputKindForBits,
  options: OPTIONS,
  references: DIAGONAL_REFERENCES,
  create: (args) => createPixelRnn("diagonal", args),
};
