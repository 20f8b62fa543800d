/**
 * PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu, ICML 2016, "Pixel Recurrent Neural
 * Networks"). Binarized MNIST test NLL 81.30 nats (REFERENCE.md).
 *
 * Architecture (DESIGN.md): a masked 7×7 type-A convolution (64 channels) → 7 residual blocks
 * `h + conv3x3_B(relu(h))` (64) → ReLU, 1×1 (64), ReLU, 1×1 (64), ReLU, 1×1 → one logit per pixel
 * (`bits: 1`, 270,081 parameters at 28×28) or a 256-way softmax per pixel (`bits: 8`, 286,656
 * parameters; input pixel/255, NLL also reported in bits/dim). The masks zero every kernel
 * entry at or below-right of the centre (type A) or strictly below-right (type B); the rows
 * below the centre, entirely masked, are kept in the variables (so the parameter count matches
 * the paper's code) but skipped in the computation.
 *
 * Sampling is pixel by pixel for all samples at once, and computes each feature once: the
 * contribution of the rows above (final once the row starts) is one convolution per layer per
 * row; each pixel then adds only the current-row taps of its own column, one small matmul per
 * layer, using the features already computed for the pixel to its left. Total work ≈ one
 * forward pass per image instead of H·W of them.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelArgs, ModelSpec } from "../model.ts";
import { Dense } from "../layers/nn.ts";
import { MaskedConv2d } from "../layers/conv.ts";
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

/** Sizes of a PixelCNN: channels, residual blocks, and 2 (binary) or 256 levels per pixel. */
export interface PixelCnnConfig {
  channels: number;
  blocks: number;
  levels: number;
  learningRate: number;
}

/** Zero padding [top, bottom, left, right] that keeps a causal k×k convolution's output size. */
function causalPadding(k: number): [number, number, number, number] {
  return [k >> 1, 0, k >> 1, k >> 1];
}

/** The PixelCNN of DESIGN.md on single-channel images. */
export class PixelCnn implements GenerativeModel {
  readonly input: MaskedConv2d;
  readonly blocks: MaskedConv2d[];
  readonly head: Dense[];
  readonly #optimizer: tf.Optimizer;
  readonly #dims: number;

  constructor(readonly shape: ImageShape, readonly config: PixelCnnConfig, init: Stream) {
    const { channels: f, blocks, levels } = config;
    this.#dims = dimOf(shape);
    // Type A: the centre row keeps only the taps left of the centre.
    this.input = new MaskedConv2d("input", [7, 7, 1, f], init, causalPadding(7), {
      rows: 4,
      mask: (y, x) => y < 3 || x < 3,
    });
    // Type B: the centre row keeps the taps left of and at the centre.
    this.blocks = Array.from(
      { length: blocks },
      (_, i) =>
        new MaskedConv2d(`block${i}`, [3, 3, f, f], init, causalPadding(3), {
          rows: 2,
          mask: (y, x) => y < 1 || x <= 1,
        }),
    );
    this.head = [
      new Dense("head0", f, f, init),
      new Dense("head1", f, f, init),
      new Dense("head2", f, levels === 2 ? 1 : levels, init),
    ];
    this.#optimizer = tf.train.adam(config.learningRate);
  }

  /** Network input from pixels: 0/1 as is, 8-bit values scaled to [0, 1]. */
  #scale(x: tf.Tensor): tf.Tensor {
    return this.config.levels === 2 ? x : tf.mul(x, 1 / 255);
  }

  /** The 1×1 head on [N, F] features: [N, 1] logits or [N, levels]. */
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
      const f = this.config.channels;
      let h = this.input.apply(tf.reshape(this.#scale(x), [batch, height, width, 1]));
      for (const block of this.blocks) h = tf.add(h, block.apply(tf.relu(h)));
      const out = this.#applyHead(tf.reshape(h, [-1, f]));
      return this.config.levels === 2
        ? tf.reshape(out, [batch, this.#dims])
        : tf.reshape(out, [batch, this.#dims, this.config.levels]);
    });
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    checkWidth("pixelcnn", x, this.#dims);
    return tf.tidy(() => pixelLogLikelihood(this.logits(x), x, this.config.levels));
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    checkWidth("pixelcnn", batch, this.#dims);
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
    const keep = <T extends tf.Tensor | tf.Tensor[]>(t: T): T => {
      if (Array.isArray(t)) held.push(...t);
      else held.push(t);
      return t;
    };
    try {
      const uRows = keep(tf.split(uniforms, this.#dims, 0) as tf.Tensor2D[]);
      // Kernels split into the taps on the rows above and the taps left of (and at) the centre.
      const [inTop, inLeft] = keep(tf.tidy(() => {
        const k = this.input.effectiveKernel();
        return [
          tf.slice(k, [0, 0, 0, 0], [3, 7, 1, f]),
          tf.reshape(tf.slice(k, [3, 0, 0, 0], [1, 3, 1, f]), [3, f]),
        ];
      }));
      const blockTop: tf.Tensor4D[] = [];
      const blockLeft: tf.Tensor2D[] = [];
      for (const block of this.blocks) {
        const [top, left] = keep(tf.tidy(() => {
          const k = block.effectiveKernel();
          return [
            tf.slice(k, [0, 0, 0, 0], [1, 3, f, f]),
            tf.reshape(tf.slice(k, [1, 0, 0, 0], [1, 2, f, f]), [2 * f, f]),
          ];
        }));
        blockTop.push(top as tf.Tensor4D);
        blockLeft.push(left as tf.Tensor2D);
      }
      const zerosRow = keep(tf.zeros([n, 1, width, 1]));
      const zerosPixel = keep(tf.zeros([n, 1]));
      const zerosFeature = keep(tf.zeros([n, f]));
      const imageRows: tf.Tensor4D[] = [];
      // relu(h_ℓ) on the previous row, ℓ = 0..blocks−1: [n, 1, W, F].
      let above: tf.Tensor4D[] = [];
      const samples: tf.Tensor2D[] = [];
      const sideways: Padding1 = [[0, 0], [0, 0], [3, 3], [0, 0]];
      for (let r = 0; r < height; r++) {
        // Contributions of the rows above, per layer and column: [n, F] each.
        const fromAbove: tf.Tensor2D[][] = tf.tidy(() => {
          const rows = [0, 1, 2].map((i) => imageRows[r - 3 + i] ?? zerosRow);
          const a0 = tf.add(
            tf.conv2d(tf.concat(rows, 1) as tf.Tensor4D, inTop, 1, sideways),
            this.input.bias,
          );
          const perLayer = [a0];
          this.blocks.forEach((block, l) => {
            const a = r === 0
              ? tf.tile(tf.reshape(block.bias, [1, 1, 1, f]), [n, 1, width, 1])
              : tf.add(
                tf.conv2d(above[l], blockTop[l], 1, [[0, 0], [0, 0], [1, 1], [0, 0]]),
                block.bias,
              );
            perLayer.push(a);
          });
          // Columns as [W, n, F] first: unstacking axis 0 slices contiguous memory.
          return perLayer.map((a) =>
            tf.unstack(tf.transpose(tf.reshape(a, [n, width, f]), [1, 0, 2])) as tf.Tensor2D[]
          );
        });
        const rowPixels: tf.Tensor2D[] = [];
        // h_ℓ at each column of this row (ℓ = 0..blocks−1), for the next pixel and the next row.
        const rowFeatures: tf.Tensor2D[][] = this.blocks.map(() => []);
        for (let c = 0; c < width; c++) {
          const [x, ...features] = tf.tidy(() => {
            const left = [c - 3, c - 2, c - 1].map((i) => rowPixels[i] ?? zerosPixel);
            let h = tf.add(fromAbove[0][c], tf.matMul(tf.concat(left, 1), inLeft)) as tf.Tensor2D;
            const hs: tf.Tensor2D[] = [];
            this.blocks.forEach((_, l) => {
              hs.push(h);
              const previous = rowFeatures[l][c - 1] ?? zerosFeature;
              const z = tf.relu(tf.concat([previous, h], 1)) as tf.Tensor2D;
              h = tf.add(tf.add(h, fromAbove[l + 1][c]), tf.matMul(z, blockLeft[l]));
            });
            const value = drawPixel(this.#applyHead(h), uRows[r * width + c], levels);
            return [value, ...hs];
          });
          samples.push(x);
          rowPixels.push(levels === 2 ? x : tf.tidy(() => tf.mul(x, 1 / 255)));
          features.forEach((h, l) => rowFeatures[l].push(h));
        }
        tf.dispose(above);
        above = tf.tidy(() =>
          rowFeatures.map((hs) =>
            tf.reshape(tf.relu(tf.stack(hs, 1)), [n, 1, width, f]) as tf.Tensor4D
          )
        );
        imageRows.push(tf.tidy(() => tf.reshape(tf.concat(rowPixels, 1), [n, 1, width, 1])));
        tf.dispose([...fromAbove.flat(), ...rowFeatures.flat()]);
        if (levels !== 2) tf.dispose(rowPixels);
      }
      tf.dispose([...above, ...imageRows]);
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
    return new Map(
      [this.input, ...this.blocks, ...this.head].flatMap((layer) => layer.variables()),
    );
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    tf.dispose([...this.weights().values()]);
    [this.input, ...this.blocks].forEach((conv) => conv.dispose());
    this.#optimizer.dispose();
  }
}

type Padding1 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * The `pixelcnn` model. Options: `bits` (1: binarized pixels, one logit each; 8: 256-way
 * softmax on 0..255), `channels` (64), `blocks` (7 residual blocks), `batchSize`, `learningRate`.
 */
export const pixelCnnSpec: ModelSpec = {
  name: "pixelcnn",
  family: "autoregressive",
  description: "PixelCNN (van den Oord et al. 2016): masked 7×7 A + 7 residual 3×3 B blocks, 64 ch",
  capabilities: ["sample", "exact-likelihood"],
  input: inputKindForBits,
  defaults: { bits: 1, channels: 64, blocks: 7, batchSize: 128, learningRate: 1e-3 },
  create({ shape, options, init }: ModelArgs): PixelCnn {
    const bits = bitsOption("pixelcnn", options, [1, 8]);
    checkSingleChannel("pixelcnn", shape);
    return new PixelCnn(shape, {
      channels: intOption("pixelcnn", options, "channels"),
      blocks: Number(options.blocks) === 0 ? 0 : intOption("pixelcnn", options, "blocks"),
      levels: bits === 8 ? 256 : 2,
      learningRate: positiveOption("pixelcnn", options, "learningRate"),
    }, init);
  },
};
