/**
 * The exact-likelihood base of the pixel CNNs (`pixelcnn`, `gated-pixelcnn`): the `bits`
 * option (1: one Bernoulli logit per pixel; 8: a 256-way softmax on 0..255), the shared 1×1
 * head (ReLU, 1×1 F, ReLU, 1×1 F, ReLU, 1×1 → 1 or 256 per pixel, as in van den Oord et al.
 * 2016), teacher-forced logits → exact log p(x), the Adam step, the pixel-by-pixel sampling
 * loop, and the weights/optimizer/dispose bookkeeping. A subclass supplies its network body:
 * teacher-forced features, and a {@link RowSampler} that computes one pixel's features at a time.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelArgs, ModelSpec, PublishedReference } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions, trainingOptions } from "../options.ts";
import { Dense, download, type Layer } from "../layers/nn.ts";
import { Trainable } from "../trainable.ts";
import { checkSingleChannel } from "../layers/checks.ts";
import {
  drawPixel,
  inputKindForBits,
  pixelLogProb,
  pixelNllStep,
  pixelOutputs,
  pixelUniforms,
} from "./shared.ts";

/** The options every pixel CNN reads. */
export const PIXEL_CNN_OPTIONS = {
  bits: {
    type: "int",
    default: 1,
    choices: [1, 8],
    doc: "1: binarized pixels, one logit each; 8: a 256-way softmax on 0..255 (NLL in bits/dim)",
  },
  channels: { type: "int", default: 64, min: 1, doc: "feature channels of every layer" },
  ...trainingOptions(128, 1e-3),
} satisfies OptionSchema;

/** Sizes of a pixel CNN: channels, and 2 (binary) or 256 levels per pixel. */
export interface PixelCnnConfig {
  channels: number;
  levels: number;
  learningRate: number;
}

/** What differs between the pixel CNNs' specs. */
export interface PixelCnnDefinition<E extends OptionSchema> {
  name: string;
  description: string;
  /** The model's own options beside {@link PIXEL_CNN_OPTIONS} (its depth). */
  extra: E;
  references: readonly PublishedReference[];
  /** The model from its args, its config and its own option values. */
  build(args: ModelArgs, config: PixelCnnConfig, values: OptionValues<E>): PixelCnnBase;
}

/** The spec of a pixel CNN: exact likelihood and samples, on binary or 8-bit pixels. */
export function definePixelCnn<E extends OptionSchema>(model: PixelCnnDefinition<E>): ModelSpec {
  const { name, description, extra, references } = model;
  const options: OptionSchema = { ...PIXEL_CNN_OPTIONS, ...extra };
  return {
    name,
    family: "autoregressive",
    description,
    capabilities: ["sample", "exact-likelihood"],
    input: inputKindForBits,
    options,
    references,
    create(args) {
      const values = readOptions(name, extra, args.options);
      const { bits, channels, learningRate } = readOptions(name, PIXEL_CNN_OPTIONS, args.options);
      checkSingleChannel(name, args.shape);
      return model.build(args, { channels, levels: bits === 8 ? 256 : 2, learningRate }, values);
    },
  };
}

/** Tensors to free when sampling ends; returns what it was given. */
export type Keep = <T extends tf.Tensor[]>(tensors: T) => T;

/**
 * A network body's incremental sampler: rows in order, and in each row the pixels left to
 * right. Tensors it keeps between calls are its own to free (`dispose`, or `keep` for ones that
 * live the whole sampling).
 */
export interface RowSampler {
  /** Row `r` starts; `imageRows` holds the rows drawn so far, scaled, [n, 1, W, 1] each. */
  startRow(r: number, imageRows: tf.Tensor4D[]): void;
  /**
   * The final features [n, F] at column `c` of the current row, given the row's pixels drawn
   * so far (scaled, [n, 1] each). The caller frees the result.
   */
  pixel(c: number, rowPixels: tf.Tensor2D[]): tf.Tensor2D;
  /** The current row is complete. */
  endRow(): void;
  /** Frees what the sampler still holds. */
  dispose(): void;
}

/** A pixel CNN on single-channel images: a body from the subclass, the head and loop here. */
export abstract class PixelCnnBase extends Trainable implements GenerativeModel {
  readonly dims: number;
  #head: Dense[] = [];
  readonly #optimizer: tf.Optimizer;

  constructor(
    readonly name: string,
    readonly shape: ImageShape,
    readonly config: PixelCnnConfig,
  ) {
    super();
    this.dims = dimOf(shape);
    this.#optimizer = this.adam(config.learningRate);
  }

  /** Creates the head; a subclass calls it after its own layers (the init stream's order). */
  protected addHead(init: Stream): void {
    const { channels: f, levels } = this.config;
    this.#head = [
      new Dense("head0", f, f, init),
      new Dense("head1", f, f, init),
      new Dense("head2", f, levels === 2 ? 1 : levels, init),
    ];
  }

  /** The body's teacher-forced features [B, H, W, F] for scaled images [B, H, W, 1]. */
  protected abstract features(image: tf.Tensor4D): tf.Tensor4D;

  /** The body's layers, in parameter order. */
  protected abstract bodyLayers(): (Layer & { dispose(): void })[];

  /** The body's incremental sampler for `n` samples. */
  protected abstract rowSampler(n: number, keep: Keep): RowSampler;

  /** Network input from pixels: 0/1 as is, 8-bit values scaled to [0, 1]. */
  protected scale(x: tf.Tensor): tf.Tensor {
    return this.config.levels === 2 ? x : tf.mul(x, 1 / 255);
  }

  /** The 1×1 head on [N, F] features: [N, 1] logits or [N, levels]. */
  #applyHead(h: tf.Tensor2D): tf.Tensor2D {
    let y = tf.relu(h);
    y = tf.relu(this.#head[0].apply(y));
    y = tf.relu(this.#head[1].apply(y));
    return this.#head[2].apply(y);
  }

  /** Per-pixel logits, teacher-forced: [B, D] (binary) or [B, D, levels]. */
  logits(x: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      const { height, width } = this.shape;
      const batch = x.shape[0];
      const h = this.features(tf.reshape(this.scale(x), [batch, height, width, 1]));
      const out = this.#applyHead(tf.reshape(h, [-1, this.config.channels]));
      return pixelOutputs(out, batch, this.dims, this.config.levels);
    });
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return pixelLogProb(this, x);
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    return pixelNllStep(this, this.#optimizer, batch);
  }

  /**
   * `n` samples, pixel by pixel for all samples at once: the body's sampler gives each pixel's
   * features, the head its logits, and one host-drawn uniform per pixel and sample decides it.
   */
  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const { height, width } = this.shape;
    const levels = this.config.levels;
    const uniforms = pixelUniforms(noise, this.dims, n, levels === 2);
    const held: tf.Tensor[] = [uniforms];
    const keep: Keep = (tensors) => {
      held.push(...tensors);
      return tensors;
    };
    const imageRows: tf.Tensor4D[] = [];
    const samples: tf.Tensor2D[] = [];
    try {
      const uRows = keep(tf.split(uniforms, this.dims, 0) as tf.Tensor2D[]);
      const sampler = this.rowSampler(n, keep);
      try {
        for (let r = 0; r < height; r++) {
          sampler.startRow(r, imageRows);
          const rowPixels: tf.Tensor2D[] = [];
          for (let c = 0; c < width; c++) {
            const h = sampler.pixel(c, rowPixels);
            const x = tf.tidy(() => drawPixel(this.#applyHead(h), uRows[r * width + c], levels));
            h.dispose();
            samples.push(x);
            rowPixels.push(levels === 2 ? x : tf.tidy(() => tf.mul(x, 1 / 255)));
          }
          imageRows.push(tf.tidy(() => tf.reshape(tf.concat(rowPixels, 1), [n, 1, width, 1])));
          sampler.endRow();
          if (levels !== 2) tf.dispose(rowPixels);
        }
      } finally {
        sampler.dispose();
      }
      return await download(tf.concat(samples, 1));
    } finally {
      tf.dispose([...held, ...imageRows, ...samples]);
    }
  }

  protected parts(): Layer[] {
    return [...this.bodyLayers(), ...this.#head];
  }

  /** Also frees the body's masks. */
  override dispose(): void {
    super.dispose();
    this.bodyLayers().forEach((layer) => layer.dispose());
  }
}
