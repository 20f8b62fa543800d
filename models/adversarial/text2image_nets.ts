/**
 * The parts of `text2image` (text2image.ts) that judge: GAN-CLS's matching-aware discriminator
 * loss and the discriminator that reads an image and a caption embedding together (Reed et al.
 * 2016: the caption compressed, replicated over the image trunk's spatial grid, concatenated
 * depth-wise, a 1×1 convolution, then the score).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import { Dense, type Layer } from "../layers/nn.ts";
import { DownConv } from "../layers/conv.ts";
import { BatchNorm } from "../layers/batch_norm.ts";
import { DCGAN_INIT } from "./shared.ts";

/**
 * GAN-CLS's discriminator loss from its logits on (real, right caption), (real, wrong caption)
 * and (fake, right caption): −log σ(r) − ½(log(1 − σ(w)) + log(1 − σ(f))), batch means. With
 * `realTarget` t < 1 (one-sided label smoothing) the first term is the cross-entropy with t.
 */
export function matchingAwareLoss(
  realRight: tf.Tensor,
  realWrong: tf.Tensor,
  fakeRight: tf.Tensor,
  realTarget = 1,
): tf.Scalar {
  return tf.tidy(() => {
    const real = realTarget === 1 ? tf.softplus(tf.neg(realRight)) : tf.add(
      tf.mul(tf.softplus(tf.neg(realRight)), realTarget),
      tf.mul(tf.softplus(realRight), 1 - realTarget),
    );
    const mismatched = tf.add(tf.mean(tf.softplus(realWrong)), tf.mean(tf.softplus(fakeRight)));
    return tf.add(tf.mean(real), tf.mul(mismatched, 0.5)) as tf.Scalar;
  });
}

/** The matching-aware discriminator: image trunk, text replicated over its grid, joint head. */
export class MatchingDiscriminator {
  readonly conv1: DownConv;
  readonly conv2: DownConv;
  readonly bn: BatchNorm;
  readonly text: Dense;
  readonly joint: Dense;
  readonly head: Dense;
  readonly cells: number;

  constructor(
    readonly shape: ImageShape,
    readonly width: number,
    textSize: number,
    condition: number,
    init: Stream,
  ) {
    this.cells = (shape.height / 4) * (shape.width / 4);
    this.conv1 = new DownConv("d/conv1", shape.channels, width, init, DCGAN_INIT);
    this.conv2 = new DownConv("d/conv2", width, 2 * width, init, DCGAN_INIT);
    this.bn = new BatchNorm("d/bn", 2 * width, init);
    // Glorot, not the DCGAN N(0, 0.02²), on the text path: at 0.02 the matching signal reaching
    // the word embeddings is ~1e-8 and D takes hundreds of steps to tell right captions from wrong.
    this.text = new Dense("d/text", textSize, condition, init);
    this.joint = new Dense("d/joint", 2 * width + condition, 2 * width, init);
    this.head = new Dense("d/dense", this.cells * 2 * width, 1, init, DCGAN_INIT);
  }

  /** The image trunk's grid [B·cells, 2w] for images [B, D] in [−1, 1]. */
  trunk(x: tf.Tensor2D): tf.Tensor2D {
    const [batch] = x.shape;
    const { height, width, channels } = this.shape;
    const image = tf.reshape(x, [batch, height, width, channels]) as tf.Tensor4D;
    const h1 = tf.leakyRelu(this.conv1.apply(image), 0.2);
    const h2 = tf.leakyRelu(this.bn.apply(this.conv2.apply(h1)).y, 0.2);
    return tf.reshape(h2, [batch * this.cells, 2 * this.width]);
  }

  /** "Image matches caption" logits [B, 1] of a trunk grid and caption embeddings φ(t) [B, T]. */
  judge(grid: tf.Tensor2D, text: tf.Tensor2D): tf.Tensor2D {
    const batch = text.shape[0];
    const t = tf.leakyRelu(this.text.apply(text), 0.2);
    // Every cell of an image's grid gets its caption: [B, cells, c] → [B·cells, c].
    const tiled = tf.reshape(
      tf.tile(tf.expandDims(t, 1), [1, this.cells, 1]),
      [batch * this.cells, t.shape[1]],
    );
    const joint = tf.leakyRelu(this.joint.apply(tf.concat([grid, tiled], 1) as tf.Tensor2D), 0.2);
    return this.head.apply(tf.reshape(joint, [batch, this.cells * 2 * this.width]));
  }

  layers(): Layer[] {
    return [this.conv1, this.conv2, this.bn, this.text, this.joint, this.head];
  }
}
