/**
 * The networks and loss pieces shared by the translation GANs (`cyclegan`, `stargan`): an
 * encoder–decoder generator, a patch discriminator with an optional domain-classifier head,
 * per-row loss terms that a row weight selects (so a step has one shape whatever mix of domains
 * its batch holds, and never reads anything back from the device), and translation in chunks.
 *
 * Generator: 4×4/2 conv c → w, LReLU 0.2, 4×4/2 conv w → 2w, IN, ReLU, `blocks` residual blocks
 * (3×3 conv, IN, ReLU, 3×3 conv, IN, + input) at H/4, 4×4/2 deconv 2w → w, IN, ReLU, 4×4/2
 * deconv w → 1, sigmoid (H → H/2 → H/4 → H/2 → H, images in [0, 1]). IN is instance
 * normalisation, as in both papers' generators: without it the generators of a short run drift
 * to a black image (a PyTorch replica of `cyclegan` at width 8, batch 32, 400 steps: 6.1 dB
 * against the ground truth without, 11.3 dB with, where leaving the digit as it is gives 10.6).
 * Discriminator (PatchGAN-like, no normalisation): 4×4/2 conv 1 → w, LReLU, 4×4/2 conv w → 2w,
 * LReLU, then a 1×1 conv → one real/fake score per patch and, with `classes` > 0, an
 * (H/4)×(W/4) valid conv → one logit per domain (StarGAN's D_cls).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { DownConv, UpConv } from "../layers/conv.ts";
import { kernelVariable, type Layer, zerosVariable } from "../layers/nn.ts";

/**
 * Instance normalisation without scale and shift (Ulyanov et al. 2016; PyTorch's
 * `instance_norm` default): each image's channels to mean 0 and variance 1 over its pixels. It
 * uses one image's statistics only, so a translation still never depends on its batch.
 */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
}

/** A 3×3 stride-1 convolution with a bias (`same` padding). */
class Conv3x3 implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly name: string, channels: number, init: Stream) {
    this.kernel = kernelVariable([3, 3, channels, channels], 9 * channels, 9 * channels, init);
    this.bias = zerosVariable([channels]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(tf.conv2d(x, this.kernel as tf.Tensor4D, 1, "same"), this.bias);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** The encoder–decoder generator; its input has `inChannels` channels (image + codes). */
export class EncoderDecoder implements Layer {
  readonly down: [DownConv, DownConv];
  readonly blocks: [Conv3x3, Conv3x3][];
  readonly up: [UpConv, UpConv];

  constructor(
    readonly name: string,
    inChannels: number,
    width: number,
    blocks: number,
    init: Stream,
  ) {
    this.down = [
      new DownConv(`${name}/down1`, inChannels, width, init),
      new DownConv(`${name}/down2`, width, 2 * width, init),
    ];
    this.blocks = Array.from({ length: blocks }, (_, i) => [
      new Conv3x3(`${name}/block${i + 1}a`, 2 * width, init),
      new Conv3x3(`${name}/block${i + 1}b`, 2 * width, init),
    ]);
    this.up = [
      new UpConv(`${name}/up1`, 2 * width, width, init),
      new UpConv(`${name}/up2`, width, 1, init),
    ];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    let h = tf.leakyRelu(this.down[0].apply(x), 0.2);
    h = tf.relu(instanceNorm(this.down[1].apply(h)));
    for (const [a, b] of this.blocks) {
      h = tf.add(h, instanceNorm(b.apply(tf.relu(instanceNorm(a.apply(h))))));
    }
    h = tf.relu(instanceNorm(this.up[0].apply(h)));
    return tf.sigmoid(this.up[1].apply(h));
  }

  variables(): [string, tf.Variable][] {
    return [...this.down, ...this.blocks.flat(), ...this.up].flatMap((l) => l.variables());
  }
}

/** What a discriminator says of a batch. */
export interface PatchJudgement {
  /** Real/fake scores [B, H/4, W/4, 1] (least-squares targets 1 and 0). */
  scores: tf.Tensor4D;
  /** Domain logits [B, classes] (absent without a classifier head). */
  logits?: tf.Tensor2D;
}

/** The patch discriminator, with a domain-classifier head when `classes` > 0. */
export class PatchDiscriminator implements Layer {
  readonly down: [DownConv, DownConv];
  readonly head: tf.Variable;
  readonly headBias: tf.Variable;
  readonly classHead?: tf.Variable;

  constructor(
    readonly name: string,
    width: number,
    shape: ImageShape,
    init: Stream,
    readonly classes = 0,
  ) {
    this.down = [
      new DownConv(`${name}/down1`, 1, width, init),
      new DownConv(`${name}/down2`, width, 2 * width, init),
    ];
    this.head = kernelVariable([1, 1, 2 * width, 1], 2 * width, 1, init);
    this.headBias = zerosVariable([1]);
    if (classes > 0) {
      const [h, w] = [shape.height / 4, shape.width / 4];
      this.classHead = kernelVariable([h, w, 2 * width, classes], h * w * 2 * width, classes, init);
    }
  }

  apply(x: tf.Tensor4D): PatchJudgement {
    let h = tf.leakyRelu(this.down[0].apply(x), 0.2);
    h = tf.leakyRelu(this.down[1].apply(h), 0.2);
    const scores = tf.add(tf.conv2d(h, this.head as tf.Tensor4D, 1, "valid"), this.headBias);
    if (!this.classHead) return { scores: scores as tf.Tensor4D };
    const logits = tf.conv2d(h, this.classHead as tf.Tensor4D, 1, "valid");
    return {
      scores: scores as tf.Tensor4D,
      logits: tf.reshape(logits, [x.shape[0], this.classes]) as tf.Tensor2D,
    };
  }

  variables(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [
      ...this.down.flatMap((l) => l.variables()),
      [`${this.name}/head/kernel`, this.head],
      [`${this.name}/head/bias`, this.headBias],
    ];
    if (this.classHead) out.push([`${this.name}/classes/kernel`, this.classHead]);
    return out;
  }
}

/** Mean over everything but the first axis: one value per row, [B]. */
export function rowMean(x: tf.Tensor): tf.Tensor1D {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
  return tf.mean(x, axes) as tf.Tensor1D;
}

/** Least-squares GAN term of each row: mean over its patches of (score − target)². */
export function rowLeastSquares(scores: tf.Tensor, target: number): tf.Tensor1D {
  return rowMean(tf.square(tf.sub(scores, target)));
}

/** Mean absolute difference of each row. */
export function rowL1(x: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return rowMean(tf.abs(tf.sub(x, y)));
}

/** Σ_i weight_i · value_i: a weighted mean over rows when the weights sum to 1. */
export function weighted(values: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.mul(values, weights)) as tf.Scalar;
}

/**
 * Row weights that average over the rows of one domain: mask / max(count, 1), where mask_i is 1
 * for the rows whose label is `domain`. All-zero when the batch has none of them.
 */
export function domainWeights(labels: tf.Tensor1D, domain: number): tf.Tensor1D {
  return tf.tidy(() => {
    const mask = tf.cast(tf.equal(tf.cast(labels, "int32"), domain), "float32");
    return tf.div(mask, tf.maximum(tf.sum(mask), 1)) as tf.Tensor1D;
  });
}

/** Images [B, D] as [B, H, W, 1]. */
export function asImages(batch: tf.Tensor2D, shape: ImageShape): tf.Tensor4D {
  return tf.reshape(batch, [batch.shape[0], shape.height, shape.width, 1]);
}

/** Rows translated per device call: bounds the activations' memory at evaluation. */
const TRANSLATE_CHUNK = 256;

/** `apply` on `count` host images of `shape` in chunks; the outputs in [count × H·W]. */
export async function translateInChunks(
  images: Float32Array,
  count: number,
  shape: ImageShape,
  apply: (x: tf.Tensor4D) => tf.Tensor4D,
): Promise<Float32Array> {
  const d = shape.height * shape.width;
  const out = new Float32Array(count * d);
  for (let start = 0; start < count; start += TRANSLATE_CHUNK) {
    const n = Math.min(TRANSLATE_CHUNK, count - start);
    const y = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * d, (start + n) * d), [
        n,
        shape.height,
        shape.width,
        1,
      ]);
      return apply(x);
    });
    out.set(await y.data() as Float32Array, start * d);
    y.dispose();
  }
  return out;
}
