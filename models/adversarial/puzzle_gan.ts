/**
 * `puzzle-gan`: the whole image from a few of its key local patches, positions hidden (Lee, Yun,
 * Choi, Yoo, Yang & Oh 2018, "Unsupervised Holistic Image Generation from Key Local Patches",
 * ECCV; arXiv 1703.10730), at MNIST scale. No published MNIST number: the paper shows faces,
 * cars and scenes; genbench scores completions against their sources (benchmarks/evaluations/
 * completion.ts).
 *
 * Each training step draws C candidate squares of P×P per image from the noise stream and keeps
 * the K with the most ink as the key patches (datasets/patches.ts; on the device: one gather of
 * host-made indices and a top-k, fixed shapes, no read-back): the paper's key patches are
 * informative regions, and a blank square says nothing of where it belongs.
 * A patch encoder with shared weights (dense 2w → e, LReLU 0.2) encodes each patch; the K codes
 * are SUMMED (order-invariant, as in the authors' code). A generator (DCGAN-like without batch
 * norm, so a completion never depends on its batch; Glorot initialisation) maps [code, z] to the
 * image (tanh) and the mask (sigmoid), two output channels of one trunk. D is the DCGAN
 * discriminator (shared.ts). One D and one G update per step (the authors' code updates G every
 * other step and anneals both λ from 1e-2 to 1e-4 over its epochs; here they are fixed).
 *
 * Losses, after the authors' code (image values in [−1, 1]; M the true mask, M̂ the predicted
 * one, x the image, x̂ the completion):
 * - adversarial: D: −log D(x) − log(1 − D(x̂)) and, with `shuffledFakes`, −log(1 − D(·)) of the
 *   two real composites of x and another image x' of the batch (x' inside M and x outside, and
 *   the reverse), so that D learns that patches must fit their surroundings; G: −log D(x̂);
 * - mask (the paper's spatial loss): λ_mask · mean |M̂ − M|;
 * - appearance (reconstruction weighted to the patches' regions): λ_appr · mean |M ⊙ (x̂ − x)|;
 *   the authors' code weights the completion by the predicted mask, mean |M̂ ⊙ x̂ − M ⊙ x|
 *   (`appearanceMask: predicted`), which lets M̂ → 0 switch the term off (in a 300-step MNIST
 *   run with it M̂ collapsed to 0 everywhere); plus λ_out · mean
 *   |(1 − M) ⊙ (x̂ − x)| outside the patches (0 by default: not in the paper).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import {
  checkPatchLayout,
  drawPatchPositions,
  patchIndices,
  type PatchLayout,
  patchMasks,
  patchValues,
} from "../../datasets/patches.ts";
import type { GenerativeModel, ModelSpec } from "../model.ts";
import { type OptionSchema, type OptionValues, readOptions, trainingOptions } from "../options.ts";
import { Dense, type Layer, layerVariables, normalTensor } from "../layers/nn.ts";
import { UpConv } from "../layers/conv.ts";
import { checkStride2Shape } from "../layers/checks.ts";
import { Trainable } from "../trainable.ts";
import {
  DcganDiscriminator,
  discriminatorLoss,
  GAN_LOSSES,
  type GanLoss,
  generatorLoss,
  playerStep,
} from "./shared.ts";

/** The options of `puzzle-gan`. */
export const PUZZLE_GAN_OPTIONS = {
  ...trainingOptions(64, 2e-4, "Adam step size of G (and of D unless set apart)"),
  learningRateD: {
    type: "number",
    default: 0,
    min: 0,
    doc: "D's own Adam step size; 0: learningRate",
  },
  beta1: { type: "number", default: 0.5, min: 0, below: 1, doc: "Adam β1 of both players" },
  loss: {
    type: "string",
    default: "non-saturating",
    choices: GAN_LOSSES,
    doc: "G's adversarial loss: non-saturating −log D(x̂) or minimax log(1 − D(x̂))",
  },
  patches: { type: "int", default: 3, min: 1, doc: "K, key patches per image (as in the paper)" },
  candidates: {
    type: "int",
    default: 10,
    min: 1,
    doc: "C ≥ K random squares per image; the K with the most ink are the key patches",
  },
  patchSize: { type: "int", default: 8, min: 1, doc: "P, the side of a patch in pixels" },
  margin: { type: "int", default: 4, min: 0, doc: "border pixels no patch covers (MNIST: 4)" },
  width: { type: "int", default: 32, min: 1, doc: "channels of D's first conv (G ∝, encoder 2w)" },
  encoding: { type: "int", default: 128, min: 1, doc: "size of a patch's code (summed over K)" },
  latent: { type: "int", default: 16, min: 0, doc: "size of G's noise z ~ N(0, I)" },
  maskWeight: { type: "number", default: 10, min: 0, doc: "λ_mask of the mask (spatial) loss" },
  appearanceWeight: {
    type: "number",
    default: 10,
    min: 0,
    doc: "λ_appr of the appearance loss inside the patches' regions",
  },
  appearanceMask: {
    type: "string",
    default: "true",
    choices: ["true", "predicted"],
    doc: "appearance loss |M ⊙ (x̂ − x)| with the true mask, or the authors' |M̂ ⊙ x̂ − M ⊙ x|",
  },
  outsideWeight: {
    type: "number",
    default: 0,
    min: 0,
    doc: "λ_out of an L1 loss outside the patches' regions (not in the paper)",
  },
  shuffledFakes: {
    type: "boolean",
    default: true,
    doc: "D also rejects composites of two real images (patches of one in another)",
  },
  labelSmoothing: {
    type: "number",
    default: 0,
    min: 0,
    below: 1,
    doc: "one-sided label smoothing s: D's target on real images is 1 − s",
  },
} satisfies OptionSchema;

type Options = OptionValues<typeof PUZZLE_GAN_OPTIONS>;

/** Completions made per forward pass (bounds memory for large counts). */
const CHUNK = 256;

/** What one training step works on, in G's units ([−1, 1] images). */
export interface StepInputs {
  /** Real images [B, D] in [−1, 1]. */
  real: tf.Tensor2D;
  /** Their patches [B·K, P·P·C] in [−1, 1]. */
  patches: tf.Tensor2D;
  /** The true masks [B, D]. */
  mask: tf.Tensor2D;
  /** G's noise [B, latent]. */
  z: tf.Tensor2D;
}

/** The generator's loss and its parts. */
export interface GeneratorLosses {
  total: tf.Scalar;
  adversarial: tf.Scalar;
  mask: tf.Scalar;
  appearance: tf.Scalar;
}

/** The mask and appearance losses (before their weights) of a completion; see the module doc. */
export function completionLosses(
  image: tf.Tensor2D,
  maskProb: tf.Tensor2D,
  real: tf.Tensor2D,
  mask: tf.Tensor2D,
  outsideWeight: number,
  predicted = false,
): { mask: tf.Scalar; appearance: tf.Scalar } {
  return tf.tidy(() => {
    const maskLoss = tf.mean(tf.abs(tf.sub(maskProb, mask))) as tf.Scalar;
    let appearance = tf.mean(
      tf.abs(
        predicted
          ? tf.sub(tf.mul(maskProb, image), tf.mul(mask, real))
          : tf.mul(mask, tf.sub(image, real)),
      ),
    );
    if (outsideWeight > 0) {
      const outside = tf.mean(tf.abs(tf.mul(tf.sub(1, mask), tf.sub(image, real))));
      appearance = tf.add(appearance, tf.mul(outside, outsideWeight));
    }
    return { mask: maskLoss, appearance: appearance as tf.Scalar };
  });
}

/** The puzzle GAN: patch encoder, generator of image and mask, discriminator. */
export class PuzzleGan extends Trainable implements GenerativeModel {
  readonly patchLayout: PatchLayout;
  readonly encoder: [Dense, Dense];
  readonly dense: Dense;
  readonly deconv1: UpConv;
  readonly deconv2: UpConv;
  readonly d: DcganDiscriminator;
  readonly #optimizerD: tf.AdamOptimizer;
  readonly #optimizerG: tf.AdamOptimizer;
  readonly #dim: number;

  constructor(readonly shape: ImageShape, readonly options: Options, init: Stream) {
    checkStride2Shape("puzzle-gan", shape);
    const layout = {
      count: options.patches,
      candidates: options.candidates,
      size: options.patchSize,
      margin: options.margin,
    };
    checkPatchLayout("puzzle-gan", layout, shape);
    super();
    this.patchLayout = layout;
    const { width: w, encoding, latent } = options;
    const { height, width, channels } = shape;
    this.#dim = height * width * channels;
    const cells = (height / 4) * (width / 4);
    this.encoder = [
      // Glorot, not N(0, 0.02²), for the encoder and G: without batch norm, the DCGAN
      // initialisation shrinks the signal at every layer and G learns one image for all patches.
      new Dense("enc/dense1", patchValues(layout, shape), 2 * w, init),
      new Dense("enc/dense2", 2 * w, encoding, init),
    ];
    this.dense = new Dense("g/dense", encoding + latent, cells * 2 * w, init);
    this.deconv1 = new UpConv("g/deconv1", 2 * w, w, init);
    // Channels 0..C−1: the image; channel C: the mask's logit.
    this.deconv2 = new UpConv("g/deconv2", w, channels + 1, init);
    this.d = new DcganDiscriminator(shape, w, init);
    const lrD = options.learningRateD ? options.learningRateD : options.learningRate;
    this.#optimizerD = this.adam(lrD, options.beta1);
    this.#optimizerG = this.adam(options.learningRate, options.beta1);
  }

  protected generatorLayers(): Layer[] {
    return [...this.encoder, this.dense, this.deconv1, this.deconv2];
  }

  protected parts(): Layer[] {
    return [...this.generatorLayers(), ...this.d.layers()];
  }

  /** The summed code [B, e] of the patches [B·K, P·P·C] of B images (order-invariant). */
  encodePatches(patches: tf.Tensor2D): tf.Tensor2D {
    const k = this.patchLayout.count;
    const codes = this.encoder.reduce(
      (h, layer) => tf.leakyRelu(layer.apply(h), 0.2) as tf.Tensor2D,
      patches,
    );
    return tf.sum(tf.reshape(codes, [patches.shape[0] / k, k, -1]), 1) as tf.Tensor2D;
  }

  /** The completion [B, D] in [−1, 1] and the mask [B, D] in [0, 1] from patches and z. */
  generate(patches: tf.Tensor2D, z: tf.Tensor2D): { image: tf.Tensor2D; mask: tf.Tensor2D } {
    const { height, width, channels } = this.shape;
    const code = this.encodePatches(patches);
    const batch = code.shape[0];
    const input = this.options.latent > 0 ? tf.concat([code, z], 1) : code;
    const grid = tf.reshape(tf.relu(this.dense.apply(input)), [
      batch,
      height / 4,
      width / 4,
      2 * this.options.width,
    ]) as tf.Tensor4D;
    const out = this.deconv2.apply(tf.relu(this.deconv1.apply(grid)));
    const image = tf.tanh(tf.slice(out, [0, 0, 0, 0], [batch, height, width, channels]));
    let mask = tf.sigmoid(tf.slice(out, [0, 0, 0, channels], [batch, height, width, 1]));
    if (channels > 1) mask = tf.tile(mask, [1, 1, 1, channels]);
    return {
      image: tf.reshape(image, [batch, this.#dim]),
      mask: tf.reshape(mask, [batch, this.#dim]),
    };
  }

  /**
   * A training step's inputs from a batch [B, D] in [0, 1]: C candidate squares per image and z
   * drawn from `noise` on the host; on the device, one gather cuts the candidates and top-k of
   * their ink picks the K key patches and their squares' masks (fixed shapes, no read-back).
   */
  stepInputs(batch: tf.Tensor2D, noise: Stream): StepInputs {
    const n = batch.shape[0];
    const layout = this.patchLayout;
    const { count: k, candidates: c } = layout;
    const per = patchValues(layout, this.shape);
    const positions = drawPatchPositions(noise, n, layout, this.shape);
    const z = normalTensor([n, this.options.latent], noise) as tf.Tensor2D;
    const indices = patchIndices(positions, n, layout, this.shape, c);
    // One mask per candidate square (each its own "image"), or the K squares' union at once.
    const masks = c > k
      ? patchMasks(positions, n * c, layout, this.shape, 1)
      : patchMasks(positions, n, layout, this.shape);
    return tf.tidy(() => {
      const cut = tf.reshape(
        tf.gather(tf.reshape(batch, [-1]), tf.tensor1d(indices, "int32")),
        [n, c, per],
      );
      let chosen = cut;
      let mask = tf.tensor(masks, c > k ? [n * c, this.#dim] : [n, this.#dim]);
      if (c > k) {
        // Rows of the chosen candidates in [n·C, ·] (a batched gather fails on wasm).
        const offsets = tf.tensor2d(
          Int32Array.from({ length: n * k }, (_, j) => Math.floor(j / k) * c),
          [n, k],
          "int32",
        );
        const rows = tf.reshape(tf.add(tf.topk(tf.sum(cut, 2), k).indices, offsets), [-1]);
        chosen = tf.gather(tf.reshape(cut, [n * c, per]), rows);
        mask = tf.max(tf.reshape(tf.gather(mask, rows), [n, k, this.#dim]), 1);
      }
      const signed = (x: tf.Tensor) => tf.sub(tf.mul(x, 2), 1);
      return {
        real: signed(batch) as tf.Tensor2D,
        patches: tf.reshape(signed(chosen), [n * k, per]) as tf.Tensor2D,
        mask: mask as tf.Tensor2D,
        z: tf.keep(z),
      };
    });
  }

  /** The two real composites of each image and the next one of the batch (see the module doc). */
  #shuffled(real: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D[] {
    const n = real.shape[0];
    const other = n > 1
      ? tf.concat([tf.slice(real, [1, 0], [n - 1, -1]), tf.slice(real, [0, 0], [1, -1])], 0)
      : real;
    const outside = tf.sub(1, mask);
    return [
      tf.add(tf.mul(other, mask), tf.mul(real, outside)) as tf.Tensor2D,
      tf.add(tf.mul(real, mask), tf.mul(other, outside)) as tf.Tensor2D,
    ];
  }

  /** D's loss on real images, completions (`fake`) and, with `shuffledFakes`, composites. */
  discriminatorLoss(inputs: StepInputs, fake: tf.Tensor2D, logged?: Record<string, tf.Scalar>) {
    const realLogits = this.d.apply(inputs.real).logits;
    const fakeLogits = this.d.apply(fake).logits;
    if (logged) {
      logged.d_real = tf.keep(tf.mean(tf.sigmoid(realLogits)));
      logged.d_fake = tf.keep(tf.mean(tf.sigmoid(fakeLogits)));
    }
    let loss = discriminatorLoss(realLogits, fakeLogits, 1 - this.options.labelSmoothing);
    if (this.options.shuffledFakes) {
      for (const composite of this.#shuffled(inputs.real, inputs.mask)) {
        loss = tf.add(loss, tf.mean(tf.softplus(this.d.apply(composite).logits)));
      }
    }
    return loss as tf.Scalar;
  }

  /** G's loss (encoder, generator): adversarial + λ_mask · mask + λ_appr · appearance. */
  generatorLoss(inputs: StepInputs): GeneratorLosses {
    const { image, mask } = this.generate(inputs.patches, inputs.z);
    const adversarial = generatorLoss(this.d.apply(image).logits, this.options.loss as GanLoss);
    const parts = completionLosses(
      image,
      mask,
      inputs.real,
      inputs.mask,
      this.options.outsideWeight,
      this.options.appearanceMask === "predicted",
    );
    const total = tf.addN([
      adversarial,
      tf.mul(parts.mask, this.options.maskWeight),
      tf.mul(parts.appearance, this.options.appearanceWeight),
    ]) as tf.Scalar;
    return { total, adversarial, ...parts };
  }

  /** D's update, then G's through the updated D; returns the losses and gradient norms. */
  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const inputs = this.stepInputs(batch, noise);
    const fake = tf.tidy(() => this.generate(inputs.patches, inputs.z).image);
    const out: Record<string, tf.Scalar> = {};
    try {
      const d = playerStep(
        this.#optimizerD,
        layerVariables(this.d.layers()),
        () => this.discriminatorLoss(inputs, fake, out),
      );
      const g = playerStep(this.#optimizerG, layerVariables(this.generatorLayers()), () => {
        const losses = this.generatorLoss(inputs);
        out.g_loss = tf.keep(losses.adversarial);
        out.mask_loss = tf.keep(losses.mask);
        out.appearance_loss = tf.keep(losses.appearance);
        return losses.total;
      });
      return {
        d_loss: d.loss,
        g_total: g.loss,
        ...out,
        d_grad_norm: d.gradNorm,
        g_grad_norm: g.gradNorm,
      };
    } finally {
      tf.dispose([fake, inputs.real, inputs.patches, inputs.mask, inputs.z]);
    }
  }

  /** Completions and masks in [0, 1] of `count` images from their patches ([0, 1]). */
  async complete(
    patches: Float32Array,
    count: number,
    noise: Stream,
  ): Promise<{ images: Float32Array; masks: Float32Array }> {
    const k = this.patchLayout.count;
    const per = patchValues(this.patchLayout, this.shape);
    if (patches.length !== count * k * per) {
      throw new RangeError(
        `puzzle-gan: expected ${count} × ${k} patches of ${per} values, got ${patches.length} values`,
      );
    }
    const images = new Float32Array(count * this.#dim);
    const masks = new Float32Array(count * this.#dim);
    for (let start = 0; start < count; start += CHUNK) {
      const n = Math.min(CHUNK, count - start);
      const z = normalTensor([n, this.options.latent], noise) as tf.Tensor2D;
      const [image, mask] = tf.tidy(() => {
        const x = tf.tensor2d(patches.subarray(start * k * per, (start + n) * k * per), [
          n * k,
          per,
        ]);
        const out = this.generate(tf.sub(tf.mul(x, 2), 1) as tf.Tensor2D, z);
        return [tf.clipByValue(tf.mul(tf.add(out.image, 1), 0.5), 0, 1), out.mask];
      });
      images.set(await image.data() as Float32Array, start * this.#dim);
      masks.set(await mask.data() as Float32Array, start * this.#dim);
      tf.dispose([z, image, mask]);
    }
    return { images, masks };
  }
}

/** `puzzle-gan`: whole digits from K = 3 key patches of 8×8 (positions hidden). */
export const puzzleGan: ModelSpec = {
  name: "puzzle-gan",
  family: "adversarial",
  description: "Puzzle-GAN: the whole image and the patches' mask from K key patches " +
    "(shared patch encoder, summed codes; adversarial + mask + appearance losses)",
  capabilities: ["complete"],
  input: "grey",
  options: PUZZLE_GAN_OPTIONS,
  references: [],
  create: ({ shape, options, init }) =>
    new PuzzleGan(shape, readOptions("puzzle-gan", PUZZLE_GAN_OPTIONS, options), init),
};
