/**
 * Convolution layers shared by the models: the 4×4 stride-2 convolution and transposed
 * convolution of the conv VAEs and DCGANs (NHWC, `same` padding = PyTorch padding 1), and the
 * masked convolution of the pixel models.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { type KernelInit, kernelVariable, type Layer, zerosVariable } from "./nn.ts";

/** conv2d(x, W) with a 4×4 kernel, stride 2 and `same` padding (output = input / 2). */
export function conv4x4s2(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(x, kernel, 2, "same");
}

/** conv2dTranspose(x, W) with a 4×4 kernel, stride 2 and `same` padding (output = 2 × input). */
export function deconv4x4s2(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w] = x.shape;
  return tf.conv2dTranspose(x, kernel, [b, 2 * h, 2 * w, kernel.shape[2]], 2, "same");
}

/** A 4×4 stride-2 convolution (H → H/2) or transposed convolution (H → 2H), with a bias. */
abstract class Strided4x4 implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    inChannels: number,
    outChannels: number,
    init: Stream,
    kernelInit: KernelInit,
    readonly transposed: boolean,
  ) {
    // tfjs stores transposed-conv filters as [h, w, out, in].
    const shape = transposed ? [4, 4, outChannels, inChannels] : [4, 4, inChannels, outChannels];
    this.kernel = kernelVariable(shape, 16 * inChannels, 16 * outChannels, init, kernelInit);
    this.bias = zerosVariable([outChannels]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const kernel = this.kernel as tf.Tensor4D;
    return tf.add(this.transposed ? deconv4x4s2(x, kernel) : conv4x4s2(x, kernel), this.bias);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** A 4×4 stride-2 convolution with a bias: H → H/2. Kernel [4, 4, in, out]. */
export class DownConv extends Strided4x4 {
  constructor(name: string, inputs: number, outputs: number, init: Stream, how?: KernelInit) {
    super(name, inputs, outputs, init, how ?? "glorot", false);
  }
}

/** A 4×4 stride-2 transposed convolution with a bias: H → 2H. Kernel [4, 4, out, in]. */
export class UpConv extends Strided4x4 {
  constructor(name: string, inputs: number, outputs: number, init: Stream, how?: KernelInit) {
    super(name, inputs, outputs, init, how ?? "glorot", true);
  }
}

/** Explicit [top, bottom, left, right] zero padding of a convolution. */
export type Padding = [number, number, number, number];

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** `tf.conv2d(x, kernel, 1, padding)` with explicit [top, bottom, left, right] zero padding. */
export function conv2dCausal(x: tf.Tensor4D, kernel: tf.Tensor4D, padding: Padding): tf.Tensor4D {
  const [top, bottom, left, right] = padding;
  const pad: Pad4 = [[0, 0], [top, bottom], [left, right], [0, 0]];
  return tf.conv2d(x, kernel, 1, pad);
}

/**
 * A 2-D convolution whose kernel is multiplied by a fixed 0/1 mask. The variable keeps the
 * full `[kh, kw, cin, cout]` shape (masked entries count as parameters, as in the papers'
 * PyTorch code); `rows` keeps only the first rows of the kernel in the computation when the rows
 * below are entirely masked (the padding must then say so), which saves their multiplications.
 */
export class MaskedConv2d implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly #mask: tf.Tensor4D | null;
  readonly #rows: number;

  constructor(
    readonly name: string,
    readonly shape: [number, number, number, number],
    init: Stream,
    readonly padding: Padding,
    options: { rows?: number; mask?: (y: number, x: number) => boolean } = {},
  ) {
    const [kh, kw, cin, cout] = shape;
    this.kernel = kernelVariable(shape, kh * kw * cin, kh * kw * cout, init);
    this.bias = zerosVariable([cout]);
    this.#rows = options.rows ?? kh;
    const mask = options.mask;
    if (mask) {
      const values = new Float32Array(this.#rows * kw);
      for (let y = 0; y < this.#rows; y++) {
        for (let x = 0; x < kw; x++) values[y * kw + x] = mask(y, x) ? 1 : 0;
      }
      this.#mask = tf.tensor4d(values, [this.#rows, kw, 1, 1]);
    } else {
      this.#mask = null;
    }
  }

  /** The kernel as used: the kept rows, masked. Shape [rows, kw, cin, cout]. */
  effectiveKernel(): tf.Tensor4D {
    return tf.tidy(() => {
      const [kh, kw, cin, cout] = this.shape;
      const kept = (this.#rows === kh
        ? this.kernel
        : tf.slice(this.kernel, [0, 0, 0, 0], [this.#rows, kw, cin, cout])) as tf.Tensor4D;
      return this.#mask ? tf.mul(kept, this.#mask) : kept.clone();
    });
  }

  /** Convolve NHWC `x` with stride 1 and this layer's padding; adds the bias. */
  apply(x: tf.Tensor4D, padding: Padding = this.padding): tf.Tensor4D {
    return tf.tidy(() => tf.add(conv2dCausal(x, this.effectiveKernel(), padding), this.bias));
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }

  dispose(): void {
    this.#mask?.dispose();
  }
}
