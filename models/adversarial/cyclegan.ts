/**
 * CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
 * Cycle-Consistent Adversarial Networks") between two MNIST domains (datasets/domains.ts), at
 * MNIST scale: two generators G: A → B and F: B → A, two discriminators D_A and D_B, trained on
 * unpaired images with the least-squares adversarial loss of the paper, the L1 cycle loss
 * λ_cyc (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) and the optional identity loss
 * λ_id (‖G(b) − b‖₁ + ‖F(a) − a‖₁).
 *
 * Not yet a registered model (models/registry.ts): it translates rather than samples, and is
 * scored by metrics/translation.ts through {@link CycleGan.translator}.
 *
 * Generator: 4×4/2 conv 1 → w, LReLU 0.2, 4×4/2 conv w → 2w, ReLU, 4×4/2 deconv 2w → w, ReLU,
 * 4×4/2 deconv w → 1, sigmoid (28 → 14 → 7 → 14 → 28; images in [0, 1]). Discriminator
 * (PatchGAN-like): 4×4/2 conv 1 → w, LReLU, 4×4/2 conv w → 2w, LReLU, 1×1 conv → one score
 * per 7×7 patch. No normalisation layers, so a translation never depends on its batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { DownConv, UpConv } from "../layers/conv.ts";
import { kernelVariable, zerosVariable } from "../layers/nn.ts";
import type { Translator } from "../../datasets/domains.ts";

/** The settings of one CycleGAN. */
export interface CycleGanOptions {
  /** Channels of the first conv of every network (the second has twice as many). */
  width: number;
  cycleWeight: number;
  identityWeight: number;
  learningRate: number;
  beta1: number;
}

/** The paper's weights (λ_cyc = 10, λ_id = 0.5 λ_cyc) and Adam settings, at MNIST width. */
export const CYCLEGAN_DEFAULTS: CycleGanOptions = {
  width: 16,
  cycleWeight: 10,
  identityWeight: 5,
  learningRate: 2e-4,
  beta1: 0.5,
};

const SIDE = 28;

/** The 28×28 encoder–decoder generator. */
class Generator {
  readonly layers: [DownConv, DownConv, UpConv, UpConv];

  constructor(name: string, width: number, init: Stream) {
    this.layers = [
      new DownConv(`${name}/down1`, 1, width, init),
      new DownConv(`${name}/down2`, width, 2 * width, init),
      new UpConv(`${name}/up1`, 2 * width, width, init),
      new UpConv(`${name}/up2`, width, 1, init),
    ];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [d1, d2, u1, u2] = this.layers;
    let h = tf.leakyRelu(d1.apply(x), 0.2);
    h = tf.relu(d2.apply(h));
    h = tf.relu(u1.apply(h));
    return tf.sigmoid(u2.apply(h));
  }

  variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables().map(([, v]) => v));
  }
}

/** The patch discriminator: one score per 7×7 patch. */
class Discriminator {
  readonly layers: [DownConv, DownConv];
  readonly head: tf.Variable;
  readonly headBias: tf.Variable;

  constructor(name: string, width: number, init: Stream) {
    this.layers = [
      new DownConv(`${name}/down1`, 1, width, init),
      new DownConv(`${name}/down2`, width, 2 * width, init),
    ];
    this.head = kernelVariable([1, 1, 2 * width, 1], 2 * width, 1, init);
    this.headBias = zerosVariable([1]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    let h = tf.leakyRelu(this.layers[0].apply(x), 0.2);
    h = tf.leakyRelu(this.layers[1].apply(h), 0.2);
    return tf.add(tf.conv2d(h, this.head as tf.Tensor4D, 1, "valid"), this.headBias);
  }

  variables(): tf.Variable[] {
    return [
      ...this.layers.flatMap((l) => l.variables().map(([, v]) => v)),
      this.head,
      this.headBias,
    ];
  }
}

/** Least-squares GAN terms: mean (s − target)². */
const lsq = (scores: tf.Tensor, target: number) => tf.mean(tf.square(tf.sub(scores, target)));
const l1 = (x: tf.Tensor, y: tf.Tensor) => tf.mean(tf.abs(tf.sub(x, y)));

/** The generators' loss and its parts (scalars). */
export interface GeneratorLoss {
  total: tf.Scalar;
  adversarial: tf.Scalar;
  cycle: tf.Scalar;
  identity: tf.Scalar;
}

/** A CycleGAN between domain A and domain B (DOMAINS indices `domainA`, `domainB`). */
export class CycleGan {
  readonly g: Generator;
  readonly f: Generator;
  readonly dA: Discriminator;
  readonly dB: Discriminator;
  readonly #optimizerG: tf.Optimizer;
  readonly #optimizerD: tf.Optimizer;

  constructor(
    readonly domainA: number,
    readonly domainB: number,
    readonly options: CycleGanOptions,
    init: Stream,
  ) {
    const { width, learningRate, beta1 } = options;
    this.g = new Generator("G", width, init);
    this.f = new Generator("F", width, init);
    this.dA = new Discriminator("D_A", width, init);
    this.dB = new Discriminator("D_B", width, init);
    this.#optimizerG = tf.train.adam(learningRate, beta1);
    this.#optimizerD = tf.train.adam(learningRate, beta1);
  }

  /** The generators' loss on a batch a of domain A and b of domain B ([n, 28, 28, 1]). */
  generatorLoss(a: tf.Tensor4D, b: tf.Tensor4D): GeneratorLoss {
    const fakeB = this.g.apply(a);
    const fakeA = this.f.apply(b);
    const adversarial = tf.add(lsq(this.dB.apply(fakeB), 1), lsq(this.dA.apply(fakeA), 1));
    const cycle = tf.add(l1(this.f.apply(fakeB), a), l1(this.g.apply(fakeA), b));
    const identity = tf.add(l1(this.g.apply(b), b), l1(this.f.apply(a), a));
    const total = tf.addN([
      adversarial,
      tf.mul(cycle, this.options.cycleWeight),
      tf.mul(identity, this.options.identityWeight),
    ]);
    return {
      total: total as tf.Scalar,
      adversarial: adversarial as tf.Scalar,
      cycle: cycle as tf.Scalar,
      identity: identity as tf.Scalar,
    };
  }

  /** The discriminators' loss, ½ [(D(real) − 1)² + D(fake)²] each. */
  discriminatorLoss(a: tf.Tensor4D, b: tf.Tensor4D): tf.Scalar {
    // Fixed because the step that minimises this differentiates the discriminators only.
    const fakeB = this.g.apply(a);
    const fakeA = this.f.apply(b);
    const lossA = tf.add(lsq(this.dA.apply(a), 1), lsq(this.dA.apply(fakeA), 0));
    const lossB = tf.add(lsq(this.dB.apply(b), 1), lsq(this.dB.apply(fakeB), 0));
    return tf.mul(tf.add(lossA, lossB), 0.5) as tf.Scalar;
  }

  generatorVariables(): tf.Variable[] {
    return [...this.g.variables(), ...this.f.variables()];
  }

  discriminatorVariables(): tf.Variable[] {
    return [...this.dA.variables(), ...this.dB.variables()];
  }

  /**
   * One step of each player on unpaired batches (`n` images of A and of B in [0, 1]): the
   * generators first, then the discriminators against the updated generators' fakes.
   */
  async trainStep(
    a: Float32Array,
    b: Float32Array,
    n: number,
  ): Promise<{ generator: number; cycle: number; discriminator: number }> {
    const xa = tf.tensor4d(a, [n, SIDE, SIDE, 1]);
    const xb = tf.tensor4d(b, [n, SIDE, SIDE, 1]);
    let cycle = tf.scalar(0);
    const lossG = this.#optimizerG.minimize(
      () => {
        const loss = this.generatorLoss(xa, xb);
        cycle.dispose();
        cycle = tf.keep(loss.cycle);
        return loss.total;
      },
      true,
      this.generatorVariables(),
    )!;
    const lossD = this.#optimizerD.minimize(
      () => this.discriminatorLoss(xa, xb),
      true,
      this.discriminatorVariables(),
    )!;
    const [g, c, d] = await Promise.all([lossG.data(), cycle.data(), lossD.data()]);
    tf.dispose([xa, xb, lossG, lossD, cycle]);
    return { generator: g[0], cycle: c[0], discriminator: d[0] };
  }

  /** Translate `count` images ([count × 784] in [0, 1]) A → B (`toB`) or B → A. */
  async translate(images: Float32Array, count: number, toB: boolean): Promise<Float32Array> {
    const y = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(0, count * SIDE * SIDE), [count, SIDE, SIDE, 1]);
      return (toB ? this.g : this.f).apply(x);
    });
    const out = await y.data() as Float32Array;
    y.dispose();
    return out;
  }

  /** The translator metrics/translation.ts scores; it knows only this model's two domains. */
  translator(): Translator {
    return (images, count, from, to) => {
      if (from === this.domainA && to === this.domainB) return this.translate(images, count, true);
      if (from === this.domainB && to === this.domainA) return this.translate(images, count, false);
      throw new Error(
        `cyclegan: translates between domains ${this.domainA} and ${this.domainB}, not ${from} → ${to}`,
      );
    };
  }

  dispose(): void {
    tf.dispose([...this.generatorVariables(), ...this.discriminatorVariables()]);
    this.#optimizerG.dispose();
    this.#optimizerD.dispose();
  }
}
