/**
 * Text for the caption-conditioned models: the token ids of every training caption as one
 * table on the device (so that a training step draws captions by label without reading the
 * labels back), and a pooling text encoder.
 *
 * The encoder is learned word embeddings pooled over the caption's words — their masked mean
 * and masked max side by side — then one dense layer with LReLU 0.2. Pooling, not a recurrent
 * net: the captions of datasets/captions.ts carry their meaning in which words occur (the digit
 * and the attribute words), and the held-out phrasings reorder the training ones' words, so an
 * order-free encoder meets a held-out caption as a new mix of known words rather than as a new
 * word order it would have to generalise to from four phrasings; it is also one matrix product
 * per step, where a recurrence over the words is a chain of small ops.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import {
  allCaptions,
  type CaptionPart,
  captionVocabulary,
  encodeCaption,
  PAD,
} from "../../datasets/captions.ts";
import { DOMAINS } from "../../datasets/domains.ts";
import { Dense, kernelVariable, type Layer } from "./nn.ts";

/** Tokens per caption (the longest caption of datasets/captions.ts has 6 words). */
export const CAPTION_LENGTH = 8;

/** Caption classes: every (digit, domain) pair. */
export const CAPTION_CLASSES = 10 * DOMAINS.length;

/** The class of a digit in a domain (a DOMAINS index): digit·8 + domain. */
export function captionClass(digit: number, domain: number): number {
  return digit * DOMAINS.length + domain;
}

/** The digit and domain of a caption class. */
export function classParts(label: number): { digit: number; domain: number } {
  return { digit: Math.floor(label / DOMAINS.length), domain: label % DOMAINS.length };
}

/** Rows of the word-embedding table: the vocabulary, PAD and UNKNOWN. */
export function vocabularySize(): number {
  return captionVocabulary().length + 2;
}

/**
 * Every caption of `part` for every caption class as token ids on the device: row
 * class·`phrasings` + j holds the j-th caption of the class (classes have 16 or 64 captions;
 * shorter classes leave rows unused).
 */
export class CaptionTable {
  /** [CAPTION_CLASSES · phrasings, CAPTION_LENGTH] int32. */
  readonly tokens: tf.Tensor2D;
  /** Captions of each class [CAPTION_CLASSES], float32. */
  readonly counts: tf.Tensor1D;
  readonly phrasings: number;

  constructor(part: CaptionPart) {
    const vocabulary = captionVocabulary();
    const captions = Array.from(
      { length: CAPTION_CLASSES },
      (_, c) => allCaptions(classParts(c).digit, classParts(c).domain, part),
    );
    this.phrasings = Math.max(...captions.map((list) => list.length));
    const ids = new Int32Array(CAPTION_CLASSES * this.phrasings * CAPTION_LENGTH);
    captions.forEach((list, c) =>
      list.forEach((text, j) =>
        ids.set(
          encodeCaption(text, vocabulary, CAPTION_LENGTH),
          (c * this.phrasings + j) * CAPTION_LENGTH,
        )
      )
    );
    this.tokens = tf.tensor2d(ids, [CAPTION_CLASSES * this.phrasings, CAPTION_LENGTH], "int32");
    this.counts = tf.tensor1d(captions.map((list) => list.length), "float32");
  }

  /**
   * Token ids [B, CAPTION_LENGTH] of one caption per row: of class `labels` [B] (int32, on the
   * device), the caption at ⌊u·count⌋ for the uniforms `u` [B] in [0, 1). No read-back.
   */
  draw(labels: tf.Tensor1D, u: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const count = tf.gather(this.counts, labels);
      const index = tf.minimum(tf.floor(tf.mul(u, count)), tf.sub(count, 1));
      const row = tf.add(tf.mul(tf.cast(labels, "float32"), this.phrasings), index);
      return tf.gather(this.tokens, tf.cast(row, "int32"));
    }) as tf.Tensor2D;
  }

  /** Host-side form of {@link draw}: one caption per class of `classes`, uniforms from `noise`. */
  drawFor(classes: ArrayLike<number>, noise: Stream): tf.Tensor2D {
    return tf.tidy(() => {
      const labels = tf.tensor1d(Int32Array.from(classes), "int32");
      return this.draw(labels, tf.tensor1d(noise.uniformArray(classes.length)));
    });
  }

  dispose(): void {
    tf.dispose([this.tokens, this.counts]);
  }
}

/**
 * Word embeddings [vocabulary, E] → masked mean and max over the words [2E] → dense → LReLU 0.2:
 * a caption embedding [T]. PAD tokens are masked out of both poolings.
 */
export class PoolingTextEncoder implements Layer {
  readonly embedding: tf.Variable;
  readonly dense: Dense;

  constructor(
    readonly name: string,
    readonly vocabulary: number,
    readonly embeddingSize: number,
    readonly outputs: number,
    init: Stream,
  ) {
    this.embedding = kernelVariable([vocabulary, embeddingSize], vocabulary, embeddingSize, init);
    this.dense = new Dense(`${name}/dense`, 2 * embeddingSize, outputs, init);
  }

  /** Caption embeddings [B, T] for token ids [B, L] (int32; any L ≥ 1). */
  encode(tokens: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [batch, length] = tokens.shape;
      const e = this.embeddingSize;
      // A one-hot product rather than a gather: its gradient is a matrix product everywhere.
      const flat = tf.reshape(tokens, [batch * length]) as tf.Tensor1D;
      const words = tf.reshape(
        tf.matMul(tf.oneHot(flat, this.vocabulary).asType("float32"), this.embedding),
        [batch, length, e],
      );
      const mask = tf.expandDims(tf.cast(tf.notEqual(tokens, PAD), "float32"), 2);
      const count = tf.maximum(tf.sum(mask, 1), 1);
      const mean = tf.div(tf.sum(tf.mul(words, mask), 1), count);
      // Padding pushed far below any embedding so that it never wins the max.
      const max = tf.max(tf.add(words, tf.mul(tf.sub(mask, 1), 1e4)), 1);
      const pooled = tf.concat([mean, max], 1) as tf.Tensor2D;
      return tf.leakyRelu(this.dense.apply(pooled), 0.2);
    }) as tf.Tensor2D;
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/embedding`, this.embedding], ...this.dense.variables()];
  }
}
