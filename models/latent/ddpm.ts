/**
 * `ddpm`: a denoising diffusion probabilistic model (Ho, Jain & Abbeel 2020) at MNIST scale.
 *
 * Network: a small U-Net predicting the noise ε from x_t and t — 3×3 conv to C channels,
 * residual blocks at H×W (C), H/2 (2C) and H/4 (2C), stride-2 convs down, nearest-neighbour
 * upsampling + 3×3 conv up with skip connections, a sinusoidal timestep embedding (MLP C → 4C →
 * 4C) added inside every residual block, SiLU activations. Ho et al.'s U-Net also has group
 * normalisation, attention at 16×16 and dropout; this small one has none of them.
 * Diffusion (diffusion.ts): linear β schedule, Ho et al.'s 1e−4…0.02 at T = 1000 scaled by
 * 1000/T for fewer steps (so ᾱ_T stays ≈ 0), reverse variance β_t (or β̃_t), trained on
 * L_simple = E_{t, ε}‖ε − ε̂(x_t, t)‖² with t uniform on 1..T.
 *
 * Likelihood: the full variational bound, all T terms evaluated (not sampled over t), with a
 * Bernoulli decoder on binarized pixels (the two-level discretized Gaussian; `bits: 1`) or Ho et
 * al.'s 256-level discretized Gaussian on 8-bit pixels (`bits: 8`, so also bits/dim), reported
 * through the `elbo` capability in nats like the VAEs' ELBO. It costs T network passes per image.
 * Sampling is ancestral: T network passes per batch of samples — slow next to every other model.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type {
  ElboTerms,
  GenerativeModel,
  ModelArgs,
  ModelSpec,
  PublishedReference,
} from "../model.ts";
import { type OptionSchema } from "../options.ts";
import {
  Dense,
  kernelVariable,
  type Layer,
  layerVariables,
  namedWeights,
  normalTensor,
  zerosVariable,
} from "../layers/nn.ts";
import { checkSingleChannel, checkStride2Shape, checkWidth } from "../layers/checks.ts";
import { bitsOption, inputKindForBits } from "../autoregressive/shared.ts";
import {
  at,
  linearSchedule,
  reverseMean,
  type ReverseVariance,
  reverseVariance,
  type Schedule,
  variationalBound,
} from "./diffusion.ts";

/** A k×k convolution with a bias, stride 1 (`same` size) or 2 (halves H and W). */
class Conv implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    size: number,
    inputs: number,
    outputs: number,
    init: Stream,
    readonly stride: 1 | 2 = 1,
  ) {
    const fan = size * size;
    this.kernel = kernelVariable([size, size, inputs, outputs], fan * inputs, fan * outputs, init);
    this.bias = zerosVariable([outputs]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, "same"), this.bias);
  }

  variables(): [string, tf.Variable][] {
    return [[`${this.name}/kernel`, this.kernel], [`${this.name}/bias`, this.bias]];
  }
}

function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** Nearest-neighbour ×2 upsampling [B, H, W, C] → [B, 2H, 2W, C] from differentiable ops. */
function upsample(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  // Columns, then rows, each by a rank-4 tile (tfjs has no tile gradient above rank 4).
  const wide = tf.reshape(tf.tile(tf.reshape(x, [b * h, w, 1, c]), [1, 1, 2, 1]), [b, h, 1, -1]);
  return tf.reshape(tf.tile(wide, [1, 1, 2, 1]), [b, 2 * h, 2 * w, c]);
}

/** h = conv(silu(conv(silu(x))) + embedding), plus x (through a 1×1 conv if widths differ). */
class ResBlock {
  readonly layers: Layer[];
  readonly #first: Conv;
  readonly #second: Conv;
  readonly #embedding: Dense;
  readonly #skip: Conv | null;

  constructor(name: string, inputs: number, outputs: number, embedding: number, init: Stream) {
    this.#first = new Conv(`${name}/conv1`, 3, inputs, outputs, init);
    this.#embedding = new Dense(`${name}/time`, embedding, outputs, init);
    this.#second = new Conv(`${name}/conv2`, 3, outputs, outputs, init);
    this.#skip = inputs === outputs ? null : new Conv(`${name}/skip`, 1, inputs, outputs, init);
    this.layers = [this.#first, this.#embedding, this.#second, ...(this.#skip ? [this.#skip] : [])];
  }

  apply(x: tf.Tensor4D, embedding: tf.Tensor2D): tf.Tensor4D {
    const [b] = x.shape;
    let h = this.#first.apply(silu(x));
    const e = this.#embedding.apply(silu(embedding));
    h = tf.add(h, tf.reshape(e, [b, 1, 1, e.shape[1]]));
    h = this.#second.apply(silu(h));
    return tf.add(this.#skip ? this.#skip.apply(x) : x, h);
  }
}

/** The noise-prediction U-Net of the file comment, on [B, H, W, 1] images. */
class UNet {
  readonly layers: Layer[];
  readonly #channels: number;
  readonly #time: [Dense, Dense];
  readonly #input: Conv;
  readonly #down: [ResBlock, Conv, ResBlock, Conv];
  readonly #middle: ResBlock;
  readonly #up: [Conv, ResBlock, Conv, ResBlock];
  readonly #output: Conv;

  constructor(channels: number, init: Stream) {
    const c = channels;
    const e = 4 * c;
    this.#channels = c;
    this.#time = [new Dense("time/h1", c, e, init), new Dense("time/h2", e, e, init)];
    this.#input = new Conv("input", 3, 1, c, init);
    this.#down = [
      new ResBlock("down0", c, c, e, init),
      new Conv("down0/stride2", 3, c, c, init, 2),
      new ResBlock("down1", c, 2 * c, e, init),
      new Conv("down1/stride2", 3, 2 * c, 2 * c, init, 2),
    ];
    this.#middle = new ResBlock("middle", 2 * c, 2 * c, e, init);
    this.#up = [
      new Conv("up1/conv", 3, 2 * c, 2 * c, init),
      new ResBlock("up1", 4 * c, 2 * c, e, init),
      new Conv("up0/conv", 3, 2 * c, c, init),
      new ResBlock("up0", 2 * c, c, e, init),
    ];
    this.#output = new Conv("output", 3, c, 1, init);
    const blocks = [this.#down[0], this.#down[2], this.#middle, this.#up[1], this.#up[3]];
    this.layers = [
      ...this.#time,
      this.#input,
      this.#down[1],
      this.#down[3],
      this.#up[0],
      this.#up[2],
      this.#output,
      ...blocks.flatMap((block) => block.layers),
    ];
  }

  /** Sinusoidal embedding of t [B] (Vaswani et al.'s, as Ho et al. use): [B, C]. */
  #embed(t: tf.Tensor1D): tf.Tensor2D {
    const half = this.#channels >> 1;
    const frequencies = Float32Array.from(
      { length: half },
      (_, k) => Math.exp(-Math.log(10000) * k / Math.max(half, 1)),
    );
    const angles = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(frequencies, [1, half]));
    const parts = [tf.sin(angles), tf.cos(angles)];
    if (this.#channels % 2) parts.push(tf.zeros([t.shape[0], 1]));
    return tf.concat(parts, 1) as tf.Tensor2D;
  }

  apply(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
    const [h1, h2] = this.#time;
    const e = h2.apply(silu(h1.apply(this.#embed(t))));
    const [block0, stride0, block1, stride1] = this.#down;
    const skip0 = block0.apply(this.#input.apply(x), e);
    const skip1 = block1.apply(stride0.apply(skip0), e);
    let h = this.#middle.apply(stride1.apply(skip1), e);
    const [conv1, up1, conv0, up0] = this.#up;
    h = up1.apply(tf.concat([conv1.apply(upsample(h)), skip1], 3), e);
    h = up0.apply(tf.concat([conv0.apply(upsample(h)), skip0], 3), e);
    return this.#output.apply(silu(h));
  }
}

/** The DDPM of the file comment on binarized single-channel images. */
export class Ddpm implements GenerativeModel {
  readonly schedule: Schedule;
  readonly #net: UNet;
  readonly #optimizer: tf.Optimizer;
  readonly #dims: number;
  readonly #variance: ReverseVariance;
  readonly #levels: number;
  /** Indexed by t − 1: t, √ᾱ_t and √(1 − ᾱ_t), looked up on the device for drawn steps. */
  readonly #byStep: { t: tf.Tensor1D; rootAlphaBar: tf.Tensor1D; rootOneMinus: tf.Tensor1D };

  constructor(
    readonly shape: ImageShape,
    options: {
      timesteps: number;
      channels: number;
      learningRate: number;
      variance: string;
      levels: number;
    },
    init: Stream,
  ) {
    this.#levels = options.levels;
    const T = options.timesteps;
    this.schedule = linearSchedule(T, 1e-4 * 1000 / T, 0.02 * 1000 / T);
    this.#variance = options.variance as ReverseVariance;
    this.#net = new UNet(options.channels, init);
    this.#dims = dimOf(shape);
    this.#optimizer = tf.train.adam(options.learningRate);
    const bars = this.schedule.alphaBars;
    const table = (f: (alphaBar: number, i: number) => number) =>
      tf.keep(tf.tensor1d(Float32Array.from(bars, f)));
    this.#byStep = {
      t: table((_, i) => i + 1),
      rootAlphaBar: table((a) => Math.sqrt(a)),
      rootOneMinus: table((a) => Math.sqrt(1 - a)),
    };
  }

  /** ε̂(x_t, t) for x_t [B, D] in diffusion units ([−1, 1] data scale) and t [B]. */
  readonly predict = (xt: tf.Tensor2D, t: tf.Tensor1D): tf.Tensor2D =>
    tf.tidy(() => {
      const { height, width } = this.shape;
      const image = tf.reshape(xt, [xt.shape[0], height, width, 1]) as tf.Tensor4D;
      return tf.reshape(this.#net.apply(image, t), [xt.shape[0], this.#dims]) as tf.Tensor2D;
    });

  /** Pixels (0/1, or 0..255) → the grid of `levels` values on [−1, 1]. */
  #toDiffusion(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sub(tf.mul(x, 2 / (this.#levels - 1)), 1));
  }

  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    checkWidth("ddpm", batch, this.#dims);
    const b = batch.shape[0];
    // t − 1 drawn per row, what depends on t looked up on the device: a step replay on webgpu
    // rewrites the draws of a step, not values the host made of them.
    const index = tf.tensor1d(
      Int32Array.from({ length: b }, () => noise.int(this.schedule.steps)),
      "int32",
    );
    const eps = normalTensor([b, this.#dims], noise) as tf.Tensor2D;
    const [t, rootAlphaBar, rootOneMinus] = tf.tidy(() => {
      const { t, rootAlphaBar, rootOneMinus } = this.#byStep;
      return [
        tf.gather(t, index),
        tf.reshape(tf.gather(rootAlphaBar, index), [b, 1]),
        tf.reshape(tf.gather(rootOneMinus, index), [b, 1]),
      ];
    }) as [tf.Tensor1D, tf.Tensor2D, tf.Tensor2D];
    const loss = this.#optimizer.minimize(
      () => {
        const xt = tf.add(
          tf.mul(this.#toDiffusion(batch), rootAlphaBar),
          tf.mul(eps, rootOneMinus),
        ) as tf.Tensor2D;
        return tf.mean(tf.square(tf.sub(eps, this.predict(xt, t))));
      },
      true,
      layerVariables(this.#net.layers),
    ) as tf.Scalar;
    tf.dispose([index, eps, rootAlphaBar, rootOneMinus, t]);
    return { eps_mse: loss };
  }

  /** The full bound: recon = L_0, kl = L_T + Σ_{t≥2} L_{t−1}, per example in nats. */
  elbo(x: tf.Tensor2D, noise: Stream): ElboTerms {
    checkWidth("ddpm", x, this.#dims);
    const x0 = this.#toDiffusion(x);
    const terms = variationalBound(
      this.schedule,
      this.predict,
      x0,
      noise,
      this.#variance,
      this.#levels,
    );
    x0.dispose();
    const kl = tf.add(terms.prior, terms.diffusion) as tf.Tensor1D;
    const elbo = tf.neg(tf.add(kl, terms.decoder)) as tf.Tensor1D;
    tf.dispose([terms.prior, terms.diffusion]);
    return { elbo, recon: terms.decoder, kl, mean: terms.mean };
  }

  /** Ancestral sampling: x_T ~ N(0, I), T − 1 reverse steps, then the Bernoulli decoder. */
  async sample(n: number, noise: Stream): Promise<Float32Array> {
    const { steps } = this.schedule;
    let x = normalTensor([n, this.#dims], noise) as tf.Tensor2D;
    for (let t = steps; t >= 1; t--) {
      const z = normalTensor([n, this.#dims], noise);
      const next = tf.tidy(() => {
        const mean = reverseMean(
          this.schedule,
          x,
          t,
          this.predict(x, tf.fill([n], t) as tf.Tensor1D),
        );
        const sigma = Math.sqrt(reverseVariance(this.schedule, t, this.#variance));
        const draw = tf.add(
          mean,
          tf.mul(z, t === 1 ? Math.sqrt(at(this.schedule, 1).beta) : sigma),
        );
        if (t > 1) return draw as tf.Tensor2D;
        // x_0 is the bin the decoder's Gaussian lands in (two levels: 1 exactly when draw > 0).
        const level = tf.round(tf.mul(tf.add(draw, 1), (this.#levels - 1) / 2));
        return tf.clipByValue(level, 0, this.#levels - 1) as tf.Tensor2D;
      });
      tf.dispose([x, z]);
      x = next;
      // Let other work (and Ctrl-C) in between the T network passes.
      if (t % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    try {
      return await x.data() as Float32Array;
    } finally {
      x.dispose();
    }
  }

  weights(): Map<string, tf.Variable> {
    return namedWeights(this.#net.layers);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    tf.dispose(layerVariables(this.#net.layers));
    tf.dispose(Object.values(this.#byStep));
    this.#optimizer.dispose();
  }
}

const OPTIONS: OptionSchema = {
  bits: { type: "int", default: 1, min: 1, max: 8, doc: "1: binarized pixels; 8: 256 levels" },
  timesteps: { type: "int", default: 1000, min: 50, doc: "diffusion steps T (β scaled by 1000/T)" },
  channels: { type: "int", default: 32, min: 2, doc: "U-Net width C (C, 2C, 2C at H, H/2, H/4)" },
  variance: {
    type: "string",
    default: "beta",
    choices: ["beta", "posterior"],
    doc: "reverse variance σ_t²: β_t or the posterior's β̃_t",
  },
  batchSize: { type: "int", default: 128, min: 1, doc: "training batch size" },
  learningRate: { type: "number", default: 2e-4, above: 0, doc: "Adam learning rate" },
};

const REFERENCES: readonly PublishedReference[] = [{
  paper: "Ho, Jain & Abbeel 2020, Denoising Diffusion Probabilistic Models",
  metric: "bpd",
  value: 3.7,
  unit: "bits/dim",
  kind: "elbo",
  dataset: "cifar10",
  protocol: {
    budget: "800k steps, batch 128",
    schedule: "linear β 1e-4…0.02, T = 1000",
    architecture:
      "35.7M-parameter U-Net with attention; trained on the true bound (L_simple: ≤ 3.75)",
  },
  status: "unconfirmed",
  note:
    "CIFAR-10 8-bit only; no binarized-MNIST number is published. genbench's ddpm models binary data",
}];

/** `ddpm`. Options: `timesteps` (1000), `channels` (32), `variance`, `batchSize`, `learningRate`. */
export const ddpmSpec: ModelSpec = {
  name: "ddpm",
  family: "latent-variable",
  description:
    "DDPM (Ho et al. 2020): small U-Net ε-predictor, linear β, full T-term bound, discretized decoder",
  capabilities: ["sample", "elbo"],
  input: inputKindForBits,
  options: OPTIONS,
  references: REFERENCES,
  create({ shape, options, init }: ModelArgs): Ddpm {
    checkSingleChannel("ddpm", shape);
    checkStride2Shape("ddpm", shape);
    const bits = bitsOption("ddpm", options, [1, 8]);
    return new Ddpm(shape, {
      levels: bits === 8 ? 256 : 2,
      timesteps: Number(options.timesteps),
      channels: Number(options.channels),
      learningRate: Number(options.learningRate),
      variance: String(options.variance),
    }, init);
  },
};
