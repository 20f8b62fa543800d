/**
 * Parts of the GANs: the two players' losses, one player update that also returns its gradient
 * norm, and genbench's canonical DCGAN generator and discriminator trunk built from the shared
 * layers with the DCGAN initialisation (Radford et al. 2016: weights N(0, 0.02²), batch-norm
 * scales N(1, 0.02²)). The bases that put them together are in gan.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { Dense, type Layer } from "../layers/nn.ts";
import { DownConv, UpConv } from "../layers/conv.ts";
import { BatchNorm, type Moments } from "../layers/batch_norm.ts";

/** The DCGAN initialisation of kernels: N(0, 0.02²) (Radford et al. 2016). */
export const DCGAN_INIT = { std: 0.02 } as const;

/** The generator losses a GAN can train with. */
export const GAN_LOSSES = ["non-saturating", "minimax"] as const;
/** One of {@link GAN_LOSSES}. */
export type GanLoss = typeof GAN_LOSSES[number];

/**
 * D's loss from its logits: −log D(x) − log(1 − D(G(z))), batch means. With `realTarget` t < 1
 * (one-sided label smoothing, Salimans et al. 2016) the real term is the cross-entropy with
 * target t: −t·log D(x) − (1 − t)·log(1 − D(x)), which keeps D from growing over-confident.
 */
export function discriminatorLoss(
  realLogits: tf.Tensor,
  fakeLogits: tf.Tensor,
  realTarget = 1,
): tf.Scalar {
  const real = realTarget === 1 ? tf.softplus(tf.neg(realLogits)) : tf.add(
    tf.mul(tf.softplus(tf.neg(realLogits)), realTarget),
    tf.mul(tf.softplus(realLogits), 1 - realTarget),
  );
  return tf.add(tf.mean(real), tf.mean(tf.softplus(fakeLogits)));
}

/**
 * G's loss from D's logits on fakes: `non-saturating` −log D(G(z)), or `minimax`
 * log(1 − D(G(z))) = −softplus(logit), whose gradient vanishes while D rejects the fakes.
 */
export function generatorLoss(fakeLogits: tf.Tensor, loss: GanLoss): tf.Scalar {
  return loss === "minimax"
    ? tf.neg(tf.mean(tf.softplus(fakeLogits)))
    : tf.mean(tf.softplus(tf.neg(fakeLogits)));
}

/**
 * One optimiser update of one player: the gradients of `loss` with respect to `variables`
 * (tf.variableGrads), their global L2 norm, then `applyGradients`. Deterministic: no tfjs
 * random op is involved. Returns the loss and the gradient norm as scalars.
 */
export function playerStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: () => tf.Scalar,
): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  const { value, grads } = tf.variableGrads(loss, variables);
  const gradNorm = tf.tidy(() =>
    tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))))
  ) as tf.Scalar;
  optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return { loss: value, gradNorm };
}

/**
 * genbench's DCGAN generator for `width` w (canonical 64): input → dense
 * (H/4)(W/4)·2w → BN → ReLU → deconv w 4×4/2 → BN → ReLU → deconv C 4×4/2 → tanh. The first
 * batch norm is per feature over the dense outputs (PyTorch `BatchNorm1d(7·7·128)`), which is
 * what gives the reference count of 917,122 parameters for `dcgan`.
 */
export class DcganGenerator {
  readonly dense: Dense;
  readonly bn1: BatchNorm;
  readonly deconv1: UpConv;
  readonly bn2: BatchNorm;
  readonly deconv2: UpConv;

  constructor(readonly shape: ImageShape, inputs: number, readonly width: number, init: Stream) {
    const cells = (shape.height / 4) * (shape.width / 4);
    this.dense = new Dense("g/dense", inputs, cells * 2 * width, init, DCGAN_INIT);
    this.bn1 = new BatchNorm("g/bn1", cells * 2 * width, init);
    this.deconv1 = new UpConv("g/deconv1", 2 * width, width, init, DCGAN_INIT);
    this.bn2 = new BatchNorm("g/bn2", width, init);
    this.deconv2 = new UpConv("g/deconv2", width, shape.channels, init, DCGAN_INIT);
  }

  /**
   * Images [B, D] in [−1, 1] for generator inputs [B, inputs], batch-normalised with `stats`
   * (two entries) or, when omitted, with the batch's own statistics, which are returned.
   */
  apply(input: tf.Tensor2D, stats?: Moments[]): { images: tf.Tensor2D; stats: Moments[] } {
    const [batch] = input.shape;
    const { height, width, channels } = this.shape;
    const a = this.bn1.apply(this.dense.apply(input), stats?.[0]);
    const grid = tf.reshape(tf.relu(a.y), [batch, height / 4, width / 4, 2 * this.width]);
    const b = this.bn2.apply(this.deconv1.apply(grid as tf.Tensor4D), stats?.[1]);
    const out = tf.tanh(this.deconv2.apply(tf.relu(b.y)));
    return {
      images: tf.reshape(out, [batch, height * width * channels]),
      stats: [a.stats, b.stats],
    };
  }

  layers(): Layer[] {
    return [this.dense, this.bn1, this.deconv1, this.bn2, this.deconv2];
  }
}

/**
 * The DCGAN discriminator trunk for `width` w: conv w 4×4/2 → LReLU 0.2 → conv 2w 4×4/2 → BN →
 * LReLU 0.2 → flatten; `head` is the dense layer to one "real" logit. `extraChannels` adds
 * input planes (the one-hot label planes of `cgan`).
 */
export class DcganDiscriminator {
  readonly conv1: DownConv;
  readonly conv2: DownConv;
  readonly bn: BatchNorm;
  readonly head: Dense;
  /** Size of the flattened trunk output. */
  readonly features: number;

  constructor(readonly shape: ImageShape, width: number, init: Stream, extraChannels = 0) {
    this.features = (shape.height / 4) * (shape.width / 4) * 2 * width;
    this.conv1 = new DownConv("d/conv1", shape.channels + extraChannels, width, init, DCGAN_INIT);
    this.conv2 = new DownConv("d/conv2", width, 2 * width, init, DCGAN_INIT);
    this.bn = new BatchNorm("d/bn", 2 * width, init);
    this.head = new Dense("d/dense", this.features, 1, init, DCGAN_INIT);
  }

  /** Trunk features [B, features] and "real" logits [B, 1] for images [B, D] in [−1, 1]. */
  apply(x: tf.Tensor2D, planes?: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    const [batch] = x.shape;
    const { height, width, channels } = this.shape;
    let image = tf.reshape(x, [batch, height, width, channels]) as tf.Tensor4D;
    if (planes) image = tf.concat([image, planes], 3);
    const h1 = tf.leakyRelu(this.conv1.apply(image), 0.2);
    const h2 = tf.leakyRelu(this.bn.apply(this.conv2.apply(h1)).y, 0.2);
    const features = tf.reshape(h2, [batch, this.features]) as tf.Tensor2D;
    return { features, logits: this.head.apply(features) };
  }

  layers(): Layer[] {
    return [this.conv1, this.conv2, this.bn, this.head];
  }
}

/** Images in [0, 1] from generator outputs in [−1, 1]. */
export function toUnit(images: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.clipByValue(tf.mul(tf.add(images, 1), 0.5), 0, 1));
}
