/**
 * The Progressive GAN's generator and discriminator at MNIST scale (Karras et al. 2018, table 2
 * scaled down): three resolutions H/4 → H/2 → H (7 → 14 → 28 on MNIST), one block per
 * resolution, channels `width`, `width`, `width/2`. Every layer uses the equalized learning rate
 * and leaky ReLU 0.2; G pixel-normalises z and every feature map, D ends with minibatch stddev.
 *
 * G: z → pixel norm → dense (H/4)²·c₀ → LReLU → PN → conv 3×3 c₀ → LReLU → PN [= h₀]; block s:
 * upsample 2× → conv 3×3 c_s → LReLU → PN → conv 3×3 c_s → LReLU → PN [= h_s]; toRGB_s: 1×1 conv
 * to the image channels, linear. During the fade-in of stage s the output is
 * (1 − α)·upsample(toRGB_{s−1}(h_{s−1})) + α·toRGB_s(h_s).
 * D mirrors it: fromRGB_s (1×1 conv, LReLU), block s: conv 3×3 c_s → conv 3×3 c_{s−1} (LReLU
 * each) → average-pool 2×; during the fade-in the pooled features are blended with
 * fromRGB_{s−1}(pool(x)); last block: minibatch stddev → conv 3×3 c₀ → dense c₀ → dense 1.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { Layer } from "../layers/nn.ts";
import {
  downsample2x,
  EqualizedConv,
  EqualizedDense,
  leakyRelu,
  lerp,
  minibatchStddev,
  pixelNorm,
  upsample2x,
} from "../layers/progan_layers.ts";

/** Number of resolutions: H/4, H/2 and H. */
export const STAGES = 3;

/** Channels of each stage's block for `width` w: w, w, w/2 (at least 1). */
export function stageChannels(width: number): number[] {
  return [width, width, Math.max(1, Math.floor(width / 2))];
}

/** Side lengths [height, width] of stage `s` for full-size images of `shape`. */
export function stageSize(shape: ImageShape, stage: number): [number, number] {
  const factor = 2 ** (STAGES - 1 - stage);
  return [shape.height / factor, shape.width / factor];
}

const lrelu = (x: tf.Tensor4D) => leakyRelu(x);

/** The growing generator: images at stage `s` in [−1, 1]-ish units (linear output). */
export class ProganGenerator {
  readonly dense: EqualizedDense;
  readonly conv0: EqualizedConv;
  /** Blocks of stages 1, 2 (two 3×3 convs each). */
  readonly blocks: [EqualizedConv, EqualizedConv][] = [];
  readonly toRgb: EqualizedConv[] = [];
  readonly channels: number[];

  constructor(readonly shape: ImageShape, readonly latent: number, width: number, init: Stream) {
    const c = this.channels = stageChannels(width);
    const [h, w] = stageSize(shape, 0);
    this.dense = new EqualizedDense("g/dense", latent, h * w * c[0], init);
    this.conv0 = new EqualizedConv("g/conv0", 3, c[0], c[0], init);
    for (let s = 1; s < STAGES; s++) {
      this.blocks.push([
        new EqualizedConv(`g/block${s}/conv1`, 3, c[s - 1], c[s], init),
        new EqualizedConv(`g/block${s}/conv2`, 3, c[s], c[s], init),
      ]);
    }
    for (let s = 0; s < STAGES; s++) {
      this.toRgb.push(new EqualizedConv(`g/torgb${s}`, 1, c[s], shape.channels, init, 1));
    }
  }

  /**
   * Images [B, h_s, w_s, C] of stage `stage` for codes z [B, latent]; with `alpha` (stage ≥ 1)
   * the fade-in blend with the previous stage's output upsampled.
   */
  apply(z: tf.Tensor2D, stage: number, alpha?: tf.Scalar): tf.Tensor4D {
    return tf.tidy(() => {
      const [h, w] = stageSize(this.shape, 0);
      const dense = this.dense.apply(pixelNorm(z));
      let x = pixelNorm(lrelu(tf.reshape(dense, [z.shape[0], h, w, this.channels[0]])));
      x = pixelNorm(lrelu(this.conv0.apply(x)));
      let previous = x;
      for (let s = 1; s <= stage; s++) {
        previous = x;
        const [conv1, conv2] = this.blocks[s - 1];
        x = pixelNorm(lrelu(conv1.apply(upsample2x(x))));
        x = pixelNorm(lrelu(conv2.apply(x)));
      }
      const out = this.toRgb[stage].apply(x);
      if (!alpha || stage === 0) return out;
      return lerp(upsample2x(this.toRgb[stage - 1].apply(previous)), out, alpha);
    });
  }

  layers(): Layer[] {
    return [this.dense, this.conv0, ...this.blocks.flat(), ...this.toRgb];
  }
}

/** The growing critic: one score [B, 1] per image of the current stage's size. */
export class ProganDiscriminator {
  readonly fromRgb: EqualizedConv[] = [];
  /** Blocks of stages 1, 2 (conv c_s → c_s, conv c_s → c_{s−1}, then pooling). */
  readonly blocks: [EqualizedConv, EqualizedConv][] = [];
  readonly conv0: EqualizedConv;
  readonly dense: EqualizedDense;
  readonly head: EqualizedDense;
  readonly #features: number;

  constructor(readonly shape: ImageShape, width: number, init: Stream) {
    const c = stageChannels(width);
    const [h, w] = stageSize(shape, 0);
    for (let s = 0; s < STAGES; s++) {
      this.fromRgb.push(new EqualizedConv(`d/fromrgb${s}`, 1, shape.channels, c[s], init));
    }
    for (let s = 1; s < STAGES; s++) {
      this.blocks.push([
        new EqualizedConv(`d/block${s}/conv1`, 3, c[s], c[s], init),
        new EqualizedConv(`d/block${s}/conv2`, 3, c[s], c[s - 1], init),
      ]);
    }
    this.conv0 = new EqualizedConv("d/conv0", 3, c[0] + 1, c[0], init);
    this.#features = h * w * c[0];
    this.dense = new EqualizedDense("d/dense", this.#features, c[0], init);
    this.head = new EqualizedDense("d/head", c[0], 1, init, 1);
  }

  /**
   * Scores [B, 1] of images x [B, h_s, w_s, C] of stage `stage`; with `alpha` (stage ≥ 1) the
   * new block's pooled features are blended with fromRGB of the pooled input.
   */
  apply(x: tf.Tensor4D, stage: number, alpha?: tf.Scalar): tf.Tensor2D {
    return tf.tidy(() => {
      let h = lrelu(this.fromRgb[stage].apply(x));
      for (let s = stage; s >= 1; s--) {
        const [conv1, conv2] = this.blocks[s - 1];
        h = downsample2x(lrelu(conv2.apply(lrelu(conv1.apply(h)))));
        if (alpha && s === stage) {
          h = lerp(lrelu(this.fromRgb[s - 1].apply(downsample2x(x))), h, alpha);
        }
      }
      h = lrelu(this.conv0.apply(minibatchStddev(h)));
      const flat = tf.reshape(h, [x.shape[0], this.#features]) as tf.Tensor2D;
      return this.head.apply(leakyRelu(this.dense.apply(flat)));
    });
  }

  layers(): Layer[] {
    return [...this.fromRgb, ...this.blocks.flat(), this.conv0, this.dense, this.head];
  }
}

/**
 * Real images x [B, H, W, C] as D sees them at stage `stage`: average-pooled to the stage's
 * size and, during a fade-in (`alpha`), blended with their own 2× coarser version upsampled,
 * as the fakes are (Karras et al.'s training code blends the reals the same way).
 */
export function realsAtStage(x: tf.Tensor4D, stage: number, alpha?: tf.Scalar): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    for (let s = STAGES - 1; s > stage; s--) y = downsample2x(y);
    if (!alpha || stage === 0) return y;
    return lerp(upsample2x(downsample2x(y)), y, alpha);
  });
}

/** Images [B, H, W, C] of a stage brought to full size `shape` by nearest upsampling. */
export function toFullSize(images: tf.Tensor4D, shape: ImageShape): tf.Tensor4D {
  return tf.tidy(() => {
    let y = images;
    while (y.shape[1] < shape.height) y = upsample2x(y);
    return y;
  });
}
