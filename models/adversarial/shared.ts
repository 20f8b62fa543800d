/**
 * Building blocks of the convolutional GANs (`dcgan`, `cgan`, `infogan`): layers with the DCGAN
 * initialisation (Radford et al. 2016: weights N(0, 0.02²), batch-norm scales N(1, 0.02²)),
 * batch normalisation written with tfjs-core ops, the DCGAN generator and discriminator trunk of
 * DESIGN.md, and one adversarial player update that also returns its gradient norm.
 *
 * Batch normalisation always normalises with the statistics of the batch at hand while
 * training. For sampling, the generator's statistics are re-estimated from a reference batch of
 * prior draws (taken from the caller's stream) and frozen ("precise BN", Wu & Johnson 2021), so
 * that a sample never depends on which other samples share its batch and no running averages
 * (state outside `weights()`, lost by checkpoints) are needed.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core registers no gradients by itself; the union package does on import.
import "@tensorflow/tfjs";
import type { Stream } from "../../core/rng.ts";
import { dense } from "../../core/webgpu/dense.ts";
import { UsageError } from "../../core/errors.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { ModelOptions } from "../model.ts";
// The 4×4 stride-2 convolutions with a host-side kernel gradient on the CPU backends.
import { conv4x4s2, deconv4x4s2 } from "../latent/vae_conv.ts";

/** A variable of `shape` with entries N(mean, std²) drawn from the init stream. */
export function normalVariable(
  shape: number[],
  std: number,
  init: Stream,
  mean = 0,
): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = mean + std * init.normal();
  return tf.variable(tf.tensor(values, shape), true);
}

/** The DCGAN weight initialisation scale. */
const INIT_STD = 0.02;

/** A named layer's variables, for `weights()`. */
export interface Layer {
  variables(): [string, tf.Variable][];
}

/** Fully connected y = x·W + b, W ~ N(0, 0.02²), b = 0. */
export class Linear implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly name: string, inputs: number, outputs: number, init: Stream) {
    this.kernel = normalVariable([inputs, outputs], INIT_STD, init);
    this.bias = tf.variable(tf.zeros([outputs]), true);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return dense(x, this.kernel as tf.Tensor2D, this.bias as tf.Tensor1D);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** A 4×4 stride-2 convolution, NHWC, `same` padding (= PyTorch padding 1): H → H/2. */
export class DownConv implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly name: string, inChannels: number, outChannels: number, init: Stream) {
    this.kernel = normalVariable([4, 4, inChannels, outChannels], INIT_STD, init);
    this.bias = tf.variable(tf.zeros([outChannels]), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(conv4x4s2(x, this.kernel as tf.Tensor4D), this.bias);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** A 4×4 stride-2 transposed convolution, NHWC, `same` padding: H → 2H. */
export class UpConv implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    inChannels: number,
    readonly outChannels: number,
    init: Stream,
  ) {
    // tfjs stores transposed-conv filters as [h, w, out, in].
    this.kernel = normalVariable([4, 4, outChannels, inChannels], INIT_STD, init);
    this.bias = tf.variable(tf.zeros([outChannels]), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(deconv4x4s2(x, this.kernel as tf.Tensor4D), this.bias);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

/** Per-feature mean and (biased) variance of a batch. */
export interface Moments {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * Batch normalisation over every axis but the last (per feature for [B, F], per channel for
 * NHWC), with a learned scale γ ~ N(1, 0.02²) and shift β = 0, ε = 1e-5 as in PyTorch.
 */
export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(readonly name: string, features: number, init: Stream) {
    this.gamma = normalVariable([features], INIT_STD, init, 1);
    this.beta = tf.variable(tf.zeros([features]), true);
  }

  /** The batch's statistics of `x`. */
  moments(x: tf.Tensor): Moments {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    return tf.moments(x, axes);
  }

  /** Normalise with `stats` (the batch's own when omitted); returns the statistics used. */
  apply<T extends tf.Tensor>(x: T, stats?: Moments): { y: T; stats: Moments } {
    const used = stats ?? this.moments(x);
    const scale = tf.mul(tf.rsqrt(tf.add(used.variance, 1e-5)), this.gamma);
    const y = tf.add(tf.mul(tf.sub(x, used.mean), scale), this.beta) as T;
    return { y, stats: used };
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/gamma`, this.gamma], [`${this.name}/beta`, this.beta]];
  }
}

/** Refuses image sizes the two stride-2 layers cannot handle, in one line. */
export function checkGanShape(model: string, shape: ImageShape): void {
  if (shape.height % 4 !== 0 || shape.width % 4 !== 0) {
    throw new UsageError(
      `${model}: image size ${shape.height}×${shape.width} does not fit the architecture ` +
        "(two stride-2 layers need height and width divisible by 4)",
    );
  }
}

/** A positive integer option, or a one-line UsageError. */
export function positiveInt(model: string, options: ModelOptions, key: string): number {
  const value = Number(options[key]);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(
      `${model}: option ${key} must be a positive integer (got ${options[key]})`,
    );
  }
  return value;
}

/** A positive finite number option, or a one-line UsageError. */
export function positiveNumber(model: string, options: ModelOptions, key: string): number {
  const value = Number(options[key]);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${model}: option ${key} must be a positive number (got ${options[key]})`);
  }
  return value;
}

/** The generator losses a GAN can train with. */
export const GAN_LOSSES = ["non-saturating", "minimax"] as const;
/** One of {@link GAN_LOSSES}. */
export type GanLoss = typeof GAN_LOSSES[number];

/** The `loss` option, or a one-line UsageError naming the choices. */
export function ganLossOption(model: string, options: ModelOptions): GanLoss {
  const loss = String(options.loss);
  if (!(GAN_LOSSES as readonly string[]).includes(loss)) {
    throw new UsageError(
      `${model}: unknown loss "${options.loss}" (expected ${GAN_LOSSES.join(" or ")})`,
    );
  }
  return loss as GanLoss;
}

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

/** The `labelSmoothing` option s ∈ [0, 1) as D's real target 1 − s, or a one-line UsageError. */
export function realTargetOption(model: string, options: ModelOptions): number {
  const s = Number(options.labelSmoothing ?? 0);
  if (!(s >= 0 && s < 1)) {
    throw new UsageError(
      `${model}: option labelSmoothing must be in [0, 1) (got ${options.labelSmoothing})`,
    );
  }
  return 1 - s;
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

/** One-hot float rows [B, classes] for int labels. */
export function oneHot(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.tidy(() =>
    tf.cast(tf.oneHot(tf.cast(labels, "int32"), classes), "float32")
  ) as tf.Tensor2D;
}

/** Refuses labels outside [0, classes) or of the wrong count, in one line. */
export function checkLabels(model: string, labels: Int32Array, n: number, classes: number): void {
  if (labels.length !== n) {
    throw new UsageError(`${model}: expected ${n} labels, got ${labels.length}`);
  }
  const bad = labels.find((y) => !(y >= 0 && y < classes));
  if (bad !== undefined) {
    throw new UsageError(`${model}: label ${bad} is outside 0..${classes - 1}`);
  }
}

/**
 * The DCGAN generator of DESIGN.md for `width` w (canonical 64): input → dense
 * (H/4)(W/4)·2w → BN → ReLU → deconv w 4×4/2 → BN → ReLU → deconv C 4×4/2 → tanh. The first
 * batch norm is per feature over the dense outputs (PyTorch `BatchNorm1d(7·7·128)`), which is
 * what gives the reference count of 917,122 parameters for `dcgan`.
 */
export class DcganGenerator {
  readonly dense: Linear;
  readonly bn1: BatchNorm;
  readonly deconv1: UpConv;
  readonly bn2: BatchNorm;
  readonly deconv2: UpConv;

  constructor(readonly shape: ImageShape, inputs: number, readonly width: number, init: Stream) {
    const cells = (shape.height / 4) * (shape.width / 4);
    this.dense = new Linear("g/dense", inputs, cells * 2 * width, init);
    this.bn1 = new BatchNorm("g/bn1", cells * 2 * width, init);
    this.deconv1 = new UpConv("g/deconv1", 2 * width, width, init);
    this.bn2 = new BatchNorm("g/bn2", width, init);
    this.deconv2 = new UpConv("g/deconv2", width, shape.channels, init);
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
  readonly head: Linear;
  /** Size of the flattened trunk output. */
  readonly features: number;

  constructor(readonly shape: ImageShape, width: number, init: Stream, extraChannels = 0) {
    this.features = (shape.height / 4) * (shape.width / 4) * 2 * width;
    this.conv1 = new DownConv("d/conv1", shape.channels + extraChannels, width, init);
    this.conv2 = new DownConv("d/conv2", width, 2 * width, init);
    this.bn = new BatchNorm("d/bn", 2 * width, init);
    this.head = new Linear("d/dense", this.features, 1, init);
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

/** The variables of layers, in order. */
export function layerVariables(layers: Layer[]): tf.Variable[] {
  return layers.flatMap((layer) => layer.variables().map(([, v]) => v));
}

/** Images in [0, 1] from generator outputs in [−1, 1]. */
export function toUnit(images: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.clipByValue(tf.mul(tf.add(images, 1), 0.5), 0, 1));
}
