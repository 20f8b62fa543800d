/**
 * The checks every pixel CNN (`pixelcnn`, `gated-pixelcnn`) must pass, registered per model:
 * exact likelihoods that sum to 1 over every image (binary and 8-bit), the canonical parameter
 * counts, an incremental sampler that draws from the teacher-forced conditionals, training that
 * lowers the NLL, and one-line errors for bad options.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { UsageError } from "../../../core/errors.ts";
import type { PixelCnnBase } from "../../../models/autoregressive/pixel_base.ts";
import { pixelCnnSpec } from "../../../models/autoregressive/pixelcnn.ts";
import { gatedPixelCnnSpec } from "../../../models/autoregressive/gated_pixelcnn.ts";
import { inputKindOf, type ModelSpec, parameterCount } from "../../../models/model.ts";
import * as helpers from "./_helpers.ts";

await helpers.useCpu();

type Options = Record<string, number>;

/** The model of `spec` on height×width images, its options over the defaults. */
function buildPixelCnn(
  spec: ModelSpec,
  height: number,
  width: number,
  options: Options = {},
  channels = 1,
): PixelCnnBase {
  return spec.create({
    shape: { height, width, channels },
    options,
    init: Stream.derive(7, "init"),
  }) as PixelCnnBase;
}

/** Random non-zero biases, so that no check rests on the zero initial biases. */
export function randomizeBiases(model: PixelCnnBase): void {
  const stream = Stream.derive(3, "biases");
  for (const [name, v] of model.weights()) {
    if (name.endsWith("/bias")) {
      v.assign(tf.tensor1d(stream.normalArray(v.size).map((z) => 0.3 * z)));
    }
  }
}

export { jacobianRows, testImage } from "./_helpers.ts";

/** What differs between the pixel CNNs' shared checks. */
interface PixelCnnCase {
  spec: ModelSpec;
  /** A small network (channels and depth) for the slower checks. */
  small: Options;
  /** [height, width, options]: every binary image of these sizes is enumerated. */
  binarySums: [number, number, Options][];
  /** [height, width, options]: every 8-bit image of these (1- and 2-pixel) sizes. */
  byteSums: [number, number, Options][];
  /** Canonical parameter counts at 28×28. */
  counts: { binary: number; byte: number };
  /** [height, width, options, levels] for the sampler check, its sample count, and how many
   * of them per pixel must be checked at least. */
  samplerCases: [number, number, Options, number][];
  samples: number;
  minChecked: number;
}

const PIXELCNN_SMALL = { channels: 8, blocks: 2 };
const GATED_SMALL = { channels: 8, layers: 3 };

/** The pixel CNNs and their cases. */
const CASES: Record<string, PixelCnnCase> = {
  pixelcnn: {
    spec: pixelCnnSpec,
    small: PIXELCNN_SMALL,
    binarySums: [[4, 3, PIXELCNN_SMALL], [3, 3, {}]],
    byteSums: [[1, 1, { bits: 8 }], [1, 2, { bits: 8, channels: 4, blocks: 1 }]],
    counts: { binary: 270_081, byte: 286_656 },
    samplerCases: [[5, 6, {}, 2], [4, 5, { bits: 8, ...PIXELCNN_SMALL }, 256]],
    samples: 48,
    minChecked: 40,
  },
  "gated-pixelcnn": {
    spec: gatedPixelCnnSpec,
    small: GATED_SMALL,
    binarySums: [[4, 3, GATED_SMALL], [2, 3, {}]],
    byteSums: [[1, 1, { bits: 8 }], [2, 1, { bits: 8, channels: 4, layers: 2 }]],
    counts: { binary: 552_193, byte: 568_768 },
    samplerCases: [[4, 5, {}, 2], [4, 5, { bits: 8, ...GATED_SMALL }, 256]],
    samples: 32,
    minChecked: 25,
  },
};

/** The pixel CNN called `name` on height×width images, its options over the defaults. */
export function build(name: string, height: number, width: number, options: Options = {}) {
  return buildPixelCnn(CASES[name].spec, height, width, options);
}

/** Registers the shared checks for the pixel CNN called `name`. */
export function registerChecks(name: string): void {
  const c = CASES[name];
  const { spec } = c;
  const build = (h: number, w: number, options: Options = {}, channels = 1) =>
    buildPixelCnn(spec, h, w, options, channels);
  /** Σ p over `images` (every image of height×width) is 1 for the model with random biases. */
  const assertTotalIsOne = (
    height: number,
    width: number,
    options: Options,
    images: tf.Tensor2D,
  ) => {
    const model = build(height, width, options);
    randomizeBiases(model);
    const total = helpers.totalProbability(model, images);
    const label = `${height}×${width} ${JSON.stringify(options)}`;
    assert.ok(Math.abs(total - 1) < 1e-5, `${label}: Σ p = ${total}`);
    model.dispose();
    images.dispose();
  };

  Deno.test(`${spec.name}: probabilities of all binary images sum to 1`, () => {
    for (const [height, width, options] of c.binarySums) {
      assertTotalIsOne(height, width, options, helpers.allBinaryImages(height * width));
    }
  });

  Deno.test(`${spec.name} 8-bit: softmaxes sum to 1; all 1- and 2-pixel images sum to 1`, () => {
    // Every conditional is a distribution over the 256 levels.
    const model = build(3, 3, { bits: 8 });
    randomizeBiases(model);
    const values = Stream.derive(1, "x").uniformArray(4 * 9).map((u) => Math.floor(u * 256));
    const x = tf.tensor2d(values, [4, 9]);
    const sums = tf.tidy(() => tf.sum(tf.softmax(model.logits(x)), 2).dataSync());
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, `Σ softmax = ${s}`);
    model.dispose();
    x.dispose();
    // Brute force over every image: 256 single pixels (canonical), 65,536 pairs (small net).
    for (const [height, width, options] of c.byteSums) {
      assertTotalIsOne(height, width, options, helpers.allImages(height * width, 256));
    }
  });

  const { binary, byte } = c.counts;
  Deno.test(`${spec.name}: canonical parameter counts at 28×28 (${binary}; 8-bit ${byte})`, () => {
    for (const [bits, expected] of [[1, binary], [8, byte]]) {
      const model = build(28, 28, { bits });
      assert.equal(parameterCount(model), expected, `bits=${bits}`);
      model.dispose();
    }
  });

  Deno.test(`${spec.name}: the incremental sampler draws from the network's conditionals`, async () => {
    for (const [height, width, options, levels] of c.samplerCases) {
      const model = build(height, width, options);
      randomizeBiases(model);
      const dims = height * width;
      const { checked, mismatches } = await helpers.checkSamplesFollowLogits(
        model,
        (x) => model.logits(x),
        dims,
        c.samples,
        levels,
      );
      assert.ok(checked > c.minChecked * dims, `checked only ${checked}`);
      assert.equal(mismatches, 0, `levels=${levels}`);
      model.dispose();
    }
  });

  Deno.test(`${spec.name}: a few training steps lower the NLL`, () => {
    const model = build(5, 5, { ...c.small, learningRate: 0.01 });
    const x = helpers.prototypeBatch(64, 25, 1);
    const { before, after } = helpers.trainFor(model, x, 10);
    assert.ok(after < before - 1, `NLL ${before} → ${after}`);
    x.dispose();
    model.dispose();
  });

  Deno.test(`${spec.name}: input kind follows bits; bad options fail in one line`, () => {
    assert.equal(inputKindOf(spec, {}), "binary");
    assert.equal(inputKindOf(spec, { bits: 8 }), "byte");
    const oneLine = (pattern: RegExp) => (e: Error) =>
      e instanceof UsageError && pattern.test(e.message) && !e.message.includes("\n");
    const bits = new RegExp(`^${spec.name}: option bits: expected one of 1, 8 \\(got 4\\)$`);
    assert.throws(() => build(4, 4, { bits: 4 }), oneLine(bits));
    const channels = new RegExp(`^${spec.name}: option channels: expected an integer ≥ 1`);
    assert.throws(() => build(4, 4, { channels: 0.5 }), oneLine(channels));
    assert.throws(() => build(4, 4, {}, 3), oneLine(new RegExp(`${spec.name}.*single-channel`)));
  });
}
