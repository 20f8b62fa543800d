/**
 * Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, NeurIPS
 * 2016, "Conditional Image Generation with PixelCNN Decoders"). CIFAR-10 3.03 bits/dim against
 * PixelCNN's 3.14 (REFERENCE.md); on binarized MNIST it is expected to beat `pixelcnn`'s 81.30.
 *
 * Two stacks remove PixelCNN's blind spot: a vertical stack that sees every pixel in the rows
 * above (a (k/2+1)×k convolution; in the first layer its last row, the current row, is masked
 * out, so the vertical stack at row r only ever depends on rows < r), and a horizontal stack
 * that sees the pixels to the left in the current row (a 1×(k/2+1) convolution, the current
 * pixel masked out in the first layer) plus a 1×1 projection of the vertical stack at the same
 * position. Both use the gate tanh(a) ⊙ σ(b); the horizontal stack has a 1×1 output projection
 * and a residual connection (except in the first layer). 7 gated layers of 64 channels: the
 * first with k = 7 (type A) on the pixels, six with k = 3 (type B); then the head of `pixelcnn`
 * (ReLU, 1×1 64, ReLU, 1×1 64, ReLU, 1×1 → 1 logit or 256). Parameters at 28×28: 552,193
 * (binary), 568,768 (8-bit).
 *
 * Sampling: the vertical stack of a whole row is computed once when the row starts (it only
 * sees rows above); each pixel then runs the horizontal stack at its own column only, with
 * the features of the pixel to its left kept from the previous step.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelArgs, ModelSpec } from "../model.ts";
import { Dense } from "../layers/nn.ts";
import { conv2dCausal, MaskedConv2d } from "../layers/conv.ts";
import { checkSingleChannel, checkWidth } from "../layers/checks.ts";
import {
  bitsOption,
  drawPixel,
  inputKindForBits,
  intOption,
  pixelLogLikelihood,
  pixelUniforms,
  positiveOption,
} from "./shared.ts";

/** Sizes of a Gated PixelCNN. */
export interface GatedPixelCnnConfig {
  channels: number;
  layers: number;
  levels: number;
  learningRate: number;
}

/** A 1×1 convolution as a dense layer on the last axis. */
function pointwise(layer: Dense, x: tf.Tensor): tf.Tensor {
  const shape = x.shape.slice(0, -1);
  const out = layer.apply(tf.reshape(x, [-1, x.shape[x.rank - 1]]) as tf.Tensor2D);
  return tf.reshape(out, [...shape, out.shape[1]]);
}

/** One gated layer: vertical and horizontal convolutions, vertical→horizontal, output 1×1. */
class GatedLayer {
  readonly vertical: MaskedConv2d;
  readonly horizontal: MaskedConv2d;
  readonly toHorizontal: Dense;
  readonly output: Dense;

  constructor(
    name: string,
    readonly k: number,
    readonly first: boolean,
    inputs: number,
    readonly f: number,
    init: Stream,
  ) {
    const half = k >> 1;
    this.vertical = new MaskedConv2d(
      `${name}/vertical`,
      [half + 1, k, inputs, 2 * f],
      init,
      [half, 0, half, half],
      first ? { mask: (y) => y < half } : {},
    );
    this.horizontal = new MaskedConv2d(
      `${name}/horizontal`,
      [1, half + 1, inputs, 2 * f],
      init,
      [0, 0, half, 0],
      first ? { mask: (_, x) => x < half } : {},
    );
    this.toHorizontal = new Dense(`${name}/v2h`, 2 * f, 2 * f, init);
    this.output = new Dense(`${name}/out`, f, f, init);
  }

  /**
   * Teacher-forced: (v, h) [B, H, W, C] → (v', h'). The gate halves are computed apart, from
   * halves of the (small) kernels: splitting the (large) activations on their last axis takes
   * tfjs-cpu's slow generic slice path.
   */
  apply(v: tf.Tensor4D, h: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const f = this.f;
    const half = (t: tf.Tensor, i: number) =>
      tf.slice(t, [...t.shape.slice(0, -1).map(() => 0), i * f], [...t.shape.slice(0, -1), f]);
    const [vKernel, hKernel] = [this.vertical.effectiveKernel(), this.horizontal.effectiveKernel()];
    const vPre = [0, 1].map((i) =>
      tf.add(
        conv2dCausal(v, half(vKernel, i) as tf.Tensor4D, this.vertical.padding),
        half(this.vertical.bias, i),
      )
    );
    const w = this.toHorizontal.kernel;
    const flat = vPre.map((t) => tf.reshape(t, [-1, f]) as tf.Tensor2D);
    const hPre = [0, 1].map((i) => {
      const fromV = tf.add(
        tf.add(
          tf.matMul(flat[0], tf.slice(w, [0, i * f], [f, f]) as tf.Tensor2D),
          tf.matMul(flat[1], tf.slice(w, [f, i * f], [f, f]) as tf.Tensor2D),
        ),
        tf.add(half(this.toHorizontal.bias, i), half(this.horizontal.bias, i)),
      );
      return tf.add(
        conv2dCausal(h, half(hKernel, i) as tf.Tensor4D, this.horizontal.padding),
        tf.reshape(fromV, [...h.shape.slice(0, -1), f]),
      );
    });
    const gated = tf.mul(tf.tanh(hPre[0]), tf.sigmoid(hPre[1]));
    const out = pointwise(this.output, gated) as tf.Tensor4D;
    const vOut = tf.mul(tf.tanh(vPre[0]), tf.sigmoid(vPre[1])) as tf.Tensor4D;
    return [vOut, this.first ? out : tf.add(h, out)];
  }

  variables(): [string, tf.Variable][] {
    return [this.vertical, this.horizontal, this.toHorizontal, this.output].flatMap((l) =>
      l.variables()
    );
  }

  dispose(): void {
    this.vertical.dispose();
    this.horizontal.dispose();
  }
}

/** The Gated PixelCNN of DESIGN.md on single-channel images. */
export class GatedPixelCnn implements GenerativeModel {
  readonly layers: GatedLayer[];
  readonly head: Dense[];
  readonly #optimizer: tf.Optimizer;
  readonly #dims: number;

  constructor(readonly shape: ImageShape, readonly config: GatedPixelCnnConfig, init: Stream) {
    const { channels: f, layers, levels } = config;
    this.#dims = dimOf(shape);
    this.layers = Array.from(
      { length: layers },
      (_, i) => new GatedLayer(`gated${i}`, i === 0 ? 7 : 3, i === 0, i === 0 ? 1 : f, f, init),
    );
    this.head = [
      new Dense("head0", f, f, init),
      new Dense("head1", f, f, init),
      new Dense("head2", f, levels === 2 ? 1 : levels, init),
    ];
    this.#optimizer = tf.train.adam(config.learningRate);
  }

  #scale(x: tf.Tensor): tf.Tensor {
    return this.config.levels === 2 ? x : tf.mul(x, 1 / 255);
  }

  #applyHead(h: tf.Tensor2D): tf.Tensor2D {
    let y = tf.relu(h);
    y = tf.relu(this.head[0].apply(y));
    y = tf.relu(this.head[1].apply(y));
    return this.head[2].apply(y);
  }

  /** Per-pixel logits, teacher-forced: [B, D] (binary) or [B, D, levels]. */
  logits(x: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      const { height, width } = this.shape;
      const batch = x.shape[0];
      const image = tf.reshape(this.#scale(x), [batch, height, width, 1]) as tf.Tensor4D;
      let [v, h] = [image, image];
      for (const layer of this.layers) [v, h] = layer.apply(v, h);
      const out = this.#applyHead(tf.reshape(h, [-1, this.config.channels]));
      return this.config.levels === 2
        ? tf.reshape(out, [batch, this.#dims])
        : tf.reshape(out, [batch, this.#dims, this.config.levels]);
    });
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    checkWidth("gated-pixelcnn", x, this.#dims);
    return tf.tidy(() => pixelLogLikelihood(this.logits(x), x, this.config.levels));
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    checkWidth("gated-pixelcnn", batch, this.#dims);
    const loss = this.#optimizer.minimize(
      () => tf.neg(tf.mean(pixelLogLikelihood(this.logits(batch), batch, this.config.levels))),
      true,
      [...this.weights().values()],
    ) as tf.Scalar;
    return { nll: loss };
  }

  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const { height, width } = this.shape;
    const { channels: f, levels } = this.config;
    const uniforms = pixelUniforms(noise, this.#dims, n, levels === 2);
    const held: tf.Tensor[] = [uniforms];
    const keep = <T extends tf.Tensor[]>(t: T): T => {
      held.push(...t);
      return t;
    };
    try {
      const uRows = keep(tf.split(uniforms, this.#dims, 0) as tf.Tensor2D[]);
      // Vertical kernels as used (the first layer's masked last row dropped), and horizontal
      // kernels as [taps · C, 2F] matrices for one position.
      // Kernels split into the two gate halves (tanh, σ), so that no activation is ever split
      // on its last axis (tfjs-cpu's slow generic slice). Vertical: the first layer's masked
      // last row dropped. Horizontal: [taps · C, F] matrices for one position.
      const halfOf = (t: tf.Tensor, i: number) =>
        tf.slice(t, [...t.shape.slice(0, -1).map(() => 0), i * f], [...t.shape.slice(0, -1), f]);
      const vKernels = this.layers.map((layer, l) =>
        keep(tf.tidy(() => {
          const k = layer.vertical.effectiveKernel();
          const used = l === 0 ? tf.slice(k, [0, 0, 0, 0], [k.shape[0] - 1, -1, -1, -1]) : k;
          return [halfOf(used, 0), halfOf(used, 1)] as tf.Tensor4D[];
        }))
      );
      const vBiases = this.layers.map((layer) =>
        keep(tf.tidy(() => [halfOf(layer.vertical.bias, 0), halfOf(layer.vertical.bias, 1)]))
      );
      const hKernels = this.layers.map((layer, l) =>
        keep(tf.tidy(() => {
          const k = layer.horizontal.effectiveKernel();
          const taps = l === 0 ? k.shape[1] - 1 : k.shape[1];
          const used = tf.reshape(tf.slice(k, [0, 0, 0, 0], [1, taps, -1, -1]), [-1, 2 * f]);
          return [halfOf(used, 0), halfOf(used, 1)] as tf.Tensor2D[];
        }))
      );
      // v→h 1×1 as four F×F blocks [from tanh half | from σ half] × [to tanh half | to σ half],
      // with the v→h and horizontal biases folded in per output half.
      const toH = this.layers.map((layer) =>
        keep(tf.tidy(() => {
          const w = layer.toHorizontal.kernel;
          const block = (from: number, to: number) => tf.slice(w, [from * f, to * f], [f, f]);
          const bias = tf.add(layer.toHorizontal.bias, layer.horizontal.bias);
          return [
            block(0, 0),
            block(1, 0),
            block(0, 1),
            block(1, 1),
            halfOf(bias, 0),
            halfOf(bias, 1),
          ];
        }))
      );
      const zerosImageRow = keep([tf.zeros([n, 1, width, 1])])[0];
      const zerosVertical = keep([tf.zeros([n, 1, width, f])])[0];
      const zerosPixel = keep([tf.zeros([n, 1])])[0];
      const zerosFeature = keep([tf.zeros([n, f])])[0];
      const half0 = this.layers[0].k >> 1;
      const imageRows: tf.Tensor4D[] = [];
      // v_ℓ on the previous row, ℓ = 0..layers−1: [n, 1, W, F].
      let vAbove: tf.Tensor4D[] = [];
      const samples: tf.Tensor2D[] = [];
      for (let r = 0; r < height; r++) {
        // The vertical stack of row r, and its projections into the horizontal stack, per
        // layer and column ([n, 2F] each, the horizontal bias included).
        const [vRow, fromVertical] = tf.tidy(() => {
          const rows = Array.from(
            { length: half0 },
            (_, i) => imageRows[r - half0 + i] ?? zerosImageRow,
          );
          let input = tf.concat(rows, 1) as tf.Tensor4D;
          const vs: tf.Tensor4D[] = [];
          const projections: tf.Tensor2D[][][] = [];
          this.layers.forEach((layer, l) => {
            const half = layer.k >> 1;
            const pad: [[number, number], [number, number], [number, number], [number, number]] = [
              [0, 0],
              [0, 0],
              [half, half],
              [0, 0],
            ];
            const [preA, preB] = [0, 1].map((i) =>
              tf.add(tf.conv2d(input, vKernels[l][i], 1, pad), vBiases[l][i]) as tf.Tensor4D
            );
            const v = tf.mul(tf.tanh(preA), tf.sigmoid(preB)) as tf.Tensor4D;
            vs.push(v);
            const [a, b] = [preA, preB].map((t) => tf.reshape(t, [-1, f]) as tf.Tensor2D);
            const [waa, wba, wab, wbb, biasA, biasB] = toH[l] as tf.Tensor2D[];
            const halves = [
              tf.add(tf.add(tf.matMul(a, waa), tf.matMul(b, wba)), biasA),
              tf.add(tf.add(tf.matMul(a, wab), tf.matMul(b, wbb)), biasB),
            ];
            // Columns as [W, n, F] first: unstacking axis 0 slices contiguous memory.
            projections.push(
              halves.map((t) =>
                tf.unstack(tf.transpose(tf.reshape(t, [n, width, f]), [1, 0, 2])) as tf.Tensor2D[]
              ),
            );
            // The next layer's vertical convolution sees this layer's rows r − 1 and r.
            input = tf.concat([vAbove[l] ?? zerosVertical, v], 1);
          });
          return [vs, projections] as [tf.Tensor4D[], tf.Tensor2D[][][]];
        });
        tf.dispose(vAbove);
        vAbove = vRow;
        const rowPixels: tf.Tensor2D[] = [];
        // h_ℓ at the previous column of this row, ℓ = 0..layers−2.
        let leftFeatures: tf.Tensor2D[] = [];
        for (let c = 0; c < width; c++) {
          const [x, ...features] = tf.tidy(() => {
            const hs: tf.Tensor2D[] = [];
            let h = zerosFeature as tf.Tensor2D;
            this.layers.forEach((layer, l) => {
              const taps = l === 0
                ? tf.concat(
                  Array.from({ length: half0 }, (_, i) => rowPixels[c - half0 + i] ?? zerosPixel),
                  1,
                )
                : tf.concat([leftFeatures[l - 1] ?? zerosFeature, h], 1);
              const [preA, preB] = [0, 1].map((i) =>
                tf.add(fromVertical[l][i][c], tf.matMul(taps, hKernels[l][i]))
              );
              const out = layer.output.apply(
                tf.mul(tf.tanh(preA), tf.sigmoid(preB)) as tf.Tensor2D,
              );
              h = l === 0 ? out : tf.add(h, out);
              if (l < this.layers.length - 1) hs.push(h);
            });
            const value = drawPixel(this.#applyHead(h), uRows[r * width + c], levels);
            return [value, ...hs];
          });
          samples.push(x);
          rowPixels.push(levels === 2 ? x : tf.tidy(() => tf.mul(x, 1 / 255)));
          tf.dispose(leftFeatures);
          leftFeatures = features;
        }
        tf.dispose(leftFeatures);
        imageRows.push(tf.tidy(() => tf.reshape(tf.concat(rowPixels, 1), [n, 1, width, 1])));
        tf.dispose(fromVertical.flat(2));
        if (levels !== 2) tf.dispose(rowPixels);
      }
      tf.dispose([...vAbove, ...imageRows]);
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

  weights(): Map<string, tf.Variable> {
    return new Map([
      ...this.layers.flatMap((layer) => layer.variables()),
      ...this.head.flatMap((layer) => layer.variables()),
    ]);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    tf.dispose([...this.weights().values()]);
    this.layers.forEach((layer) => layer.dispose());
    this.#optimizer.dispose();
  }
}

/**
 * The `gated-pixelcnn` model. Options: `bits` (1 or 8), `channels` (64), `layers` (7 gated
 * layers), `batchSize`, `learningRate`.
 */
export const gatedPixelCnnSpec: ModelSpec = {
  name: "gated-pixelcnn",
  family: "autoregressive",
  description:
    "Gated PixelCNN (van den Oord et al. 2016): vertical + horizontal stacks, no blind " +
    "spot, 7 gated layers of 64 channels",
  capabilities: ["sample", "exact-likelihood"],
  input: inputKindForBits,
  defaults: { bits: 1, channels: 64, layers: 7, batchSize: 128, learningRate: 1e-3 },
  create({ shape, options, init }: ModelArgs): GatedPixelCnn {
    const bits = bitsOption("gated-pixelcnn", options, [1, 8]);
    checkSingleChannel("gated-pixelcnn", shape);
    return new GatedPixelCnn(shape, {
      channels: intOption("gated-pixelcnn", options, "channels"),
      layers: intOption("gated-pixelcnn", options, "layers"),
      levels: bits === 8 ? 256 : 2,
      learningRate: positiveOption("gated-pixelcnn", options, "learningRate"),
    }, init);
  },
};
