/**
 * The layers of the Progressive GAN (Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of
 * GANs for Improved Quality, Stability, and Variation", section 4): pixelwise feature-vector
 * normalisation, the minibatch standard deviation feature map, the equalized learning rate
 * (weights N(0, 1), multiplied at run time by He's constant gain/√fan-in), and 2× nearest
 * upsampling, 2×2 average pooling and leaky ReLU. Every op here is built from reshape, broadcast
 * products, means, abs, matmul or conv2d, whose gradients tfjs can differentiate again: the
 * WGAN-GP penalty needs the gradient of the critic's input gradient.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { type Layer, normalVariable, zerosVariable } from "./nn.ts";

/** The ε inside the square roots of pixel norm and minibatch stddev (the paper's 10⁻⁸). */
export const PROGAN_EPSILON = 1e-8;

/** He's gain for leaky-ReLU layers (the paper uses √2 throughout, 1 for the output layers). */
export const HE_GAIN = Math.SQRT2;

/**
 * Pixelwise feature-vector normalisation: b = a / √(mean over channels of a² + ε), at every
 * pixel of x [B, H, W, C] (or every row of x [B, C]).
 */
export function pixelNorm<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const meanSquare = tf.mean(tf.square(x), axis, true);
    return tf.mul(x, tf.rsqrt(tf.add(meanSquare, PROGAN_EPSILON))) as T;
  });
}

/**
 * The minibatch standard deviation layer: the standard deviation of every feature at every pixel
 * over the minibatch (population form, √(var + ε)), averaged over features and pixels into one
 * value, appended as one constant feature map: [B, H, W, C] → [B, H, W, C + 1]. The paper's
 * form (one group: the whole minibatch).
 */
export function minibatchStddev(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width] = x.shape;
    const centred = tf.sub(x, tf.mean(x, 0, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), PROGAN_EPSILON));
    // A broadcast product, not tf.tile: tile's gradient is one slice per copy (B·H·W of them).
    const plane = tf.mul(tf.ones([batch, height, width, 1]), tf.mean(std));
    return tf.concat([x, plane], 3) as tf.Tensor4D;
  });
}

/**
 * Leaky ReLU with slope 0.2 as 0.6·x + 0.4·|x|: the gradients of tfjs's leakyRelu and maximum
 * build masks with Greater/Less, which have no gradient of their own, so the penalty's second
 * derivative could not pass through them; Abs's gradient uses Step, which has one.
 */
export function leakyRelu(x: tf.Tensor4D): tf.Tensor4D;
export function leakyRelu(x: tf.Tensor2D): tf.Tensor2D;
export function leakyRelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(x, 0.6), tf.mul(tf.abs(x), 0.4)));
}

/** 2× nearest-neighbour upsampling of x [B, H, W, C] → [B, 2H, 2W, C]. */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    // Repeat every pixel along the width, then every row along the height, by broadcasting
    // (whose gradient is one sum; tf.tile's is a slice and an add per copy).
    const pair = (n: number) => tf.ones([1, 2, n]);
    const wide = tf.mul(tf.reshape(x, [b * h * w, 1, c]), pair(c));
    const rows = tf.mul(tf.reshape(wide, [b * h, 1, 2 * w * c]), pair(2 * w * c));
    return tf.reshape(rows, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

/** 2×2 average pooling with stride 2 of x [B, H, W, C] (H, W even) → [B, H/2, W/2, C]. */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    // Row pairs: [B·H/2, 2, W·C] averaged over the pair; then column pairs: [·, 2, C]. Means,
    // not sums: genbench's webgpu gradient of Sum (core/webgpu/sum_grad.ts) has no gradient.
    const rows = tf.mean(tf.reshape(x, [b * (h / 2), 2, w * c]), 1);
    const cells = tf.mean(tf.reshape(rows, [b * (h / 2) * (w / 2), 2, c]), 1);
    return tf.reshape(cells, [b, h / 2, w / 2, c]) as tf.Tensor4D;
  });
}

/** (1 − α)·a + α·b, α a scalar (the fade-in of a new resolution). */
export function lerp<T extends tf.Tensor>(a: T, b: T, alpha: tf.Scalar): T {
  return tf.tidy(() => tf.add(a, tf.mul(tf.sub(b, a), alpha)) as T);
}

/**
 * A k×k convolution with stride 1, `same` padding and a bias, with an equalized learning rate:
 * the kernel variable is N(0, 1) and is used multiplied by gain/√(k·k·in).
 */
export class EqualizedConv implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  /** The run-time weight scale c = gain/√fan-in. */
  readonly scale: number;

  constructor(
    readonly name: string,
    size: number,
    inputs: number,
    outputs: number,
    init: Stream,
    gain = HE_GAIN,
  ) {
    this.kernel = normalVariable([size, size, inputs, outputs], 1, init);
    this.bias = zerosVariable([outputs]);
    this.scale = gain / Math.sqrt(size * size * inputs);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const kernel = tf.mul(this.kernel, this.scale) as tf.Tensor4D;
      const [k, , inputs, outputs] = kernel.shape;
      if (k > 1) return tf.add(tf.conv2d(x, kernel, 1, "same"), this.bias) as tf.Tensor4D;
      // A 1×1 convolution as one matrix product over all pixels (cheaper gradients).
      const [b, h, w] = x.shape;
      const rows = tf.matMul(
        tf.reshape(x, [b * h * w, inputs]),
        tf.reshape(kernel, [inputs, outputs]),
      );
      return tf.reshape(tf.add(rows, this.bias), [b, h, w, outputs]) as tf.Tensor4D;
    });
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** A dense layer x·(c·W) + b with an equalized learning rate: W ~ N(0, 1), c = gain/√in. */
export class EqualizedDense implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly scale: number;

  constructor(
    readonly name: string,
    inputs: number,
    outputs: number,
    init: Stream,
    gain = HE_GAIN,
  ) {
    this.kernel = normalVariable([inputs, outputs], 1, init);
    this.bias = zerosVariable([outputs]);
    this.scale = gain / Math.sqrt(inputs);
  }

  /** Plain matMul (not the fused dense of core/webgpu): the penalty differentiates it twice. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() =>
      tf.add(tf.matMul(x, tf.mul(this.kernel, this.scale) as tf.Tensor2D), this.bias)
    ) as tf.Tensor2D;
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}
