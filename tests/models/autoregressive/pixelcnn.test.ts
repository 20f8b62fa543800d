import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { UsageError } from "../../../core/errors.ts";
import { type PixelCnn, pixelCnnSpec } from "../../../models/autoregressive/pixelcnn.ts";
import { inputKindOf, parameterCount } from "../../../models/model.ts";
import {
  allBinaryImages,
  allImages,
  checkSamplesFollowLogits,
  prototypeBatch,
  totalProbability,
  trainFor,
  useCpu,
} from "./_helpers.ts";

await useCpu();

function pixelcnn(
  height: number,
  width: number,
  options: Record<string, number> = {},
  channels = 1,
): PixelCnn {
  return pixelCnnSpec.create({
    shape: { height, width, channels },
    options: { ...pixelCnnSpec.defaults, ...options },
    init: Stream.derive(7, "init"),
  }) as PixelCnn;
}

/** Random non-zero biases, so that no check rests on the zero initial biases. */
function randomizeBiases(model: PixelCnn): void {
  const stream = Stream.derive(3, "biases");
  for (const [name, v] of model.weights()) {
    if (name.endsWith("/bias")) {
      v.assign(tf.tensor1d(stream.normalArray(v.size).map((z) => 0.3 * z)));
    }
  }
}

const SMALL = { channels: 8, blocks: 2 };

Deno.test("pixelcnn: probabilities of all binary 4×3 and 3×3 images sum to 1", () => {
  const cases: [number, number, Record<string, number>][] = [[4, 3, SMALL], [3, 3, {}]];
  for (const [height, width, options] of cases) {
    const images = allBinaryImages(height * width);
    const model = pixelcnn(height, width, options);
    randomizeBiases(model);
    const total = totalProbability(model, images);
    assert.ok(
      Math.abs(total - 1) < 1e-5,
      `${height}×${width} ${JSON.stringify(options)}: Σ p = ${total}`,
    );
    model.dispose();
    images.dispose();
  }
});

Deno.test("pixelcnn 8-bit: per-pixel softmaxes sum to 1; all 1- and 2-pixel images sum to 1", () => {
  // Every conditional is a distribution over the 256 levels.
  const model = pixelcnn(3, 3, { bits: 8 });
  randomizeBiases(model);
  const x = tf.tensor2d(Stream.derive(1, "x").uniformArray(4 * 9).map((u) => Math.floor(u * 256)), [
    4,
    9,
  ]);
  const sums = tf.tidy(() => tf.sum(tf.softmax(model.logits(x)), 2).dataSync());
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, `Σ softmax = ${s}`);
  model.dispose();
  x.dispose();
  // Brute force over every image: 256 single pixels (canonical), 65,536 pairs (small net).
  const cases: [number, number, Record<string, number>][] = [
    [1, 1, { bits: 8 }],
    [1, 2, { bits: 8, channels: 4, blocks: 1 }],
  ];
  for (const [height, width, options] of cases) {
    const images = allImages(height * width, 256);
    const m = pixelcnn(height, width, options);
    randomizeBiases(m);
    const total = totalProbability(m, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `${height}×${width}: Σ p = ${total}`);
    m.dispose();
    images.dispose();
  }
});

/**
 * d logit_i / d x_j for every i, j of one image: a single backward pass over D copies of the
 * image, copy i contributing only its own logit i (for 8-bit, a fixed mix of its 256 logits).
 */
function jacobianPattern(model: PixelCnn, x: tf.Tensor2D, dims: number): number[][] {
  const copies = tf.tile(x, [dims, 1]);
  const select = tf.oneHot(tf.range(0, dims, 1, "int32"), dims);
  const grad = tf.grad((input: tf.Tensor) => {
    const out = model.logits(input as tf.Tensor2D);
    const perPixel = out.rank === 2
      ? out
      : tf.sum(tf.mul(out, tf.linspace(-1, 1, out.shape[2]!)), 2);
    return tf.sum(tf.mul(perPixel, select));
  })(copies);
  const rows = grad.arraySync() as number[][];
  tf.dispose([copies, select, grad]);
  return rows;
}

Deno.test("pixelcnn: output i has zero gradient w.r.t. inputs j ≥ i (binary and 8-bit)", () => {
  for (const bits of [1, 8]) {
    const model = pixelcnn(7, 7, bits === 8 ? { bits, channels: 16 } : {});
    randomizeBiases(model);
    const values = Stream.derive(2, "x").uniformArray(49).map((u) =>
      bits === 8 ? Math.floor(u * 256) : u < 0.5 ? 1 : 0
    );
    const x = tf.tensor2d(values, [1, 49]);
    const jacobian = jacobianPattern(model, x, 49);
    for (let i = 0; i < 49; i++) {
      for (let j = i; j < 49; j++) assert.equal(jacobian[i][j], 0, `bits=${bits} i=${i} j=${j}`);
      const [r, c] = [Math.floor(i / 7), i % 7];
      // The left neighbour and the pixel above are always in view.
      if (c > 0) assert.notEqual(jacobian[i][i - 1], 0, `bits=${bits} i=${i} left`);
      if (r > 0) assert.notEqual(jacobian[i][i - 7], 0, `bits=${bits} i=${i} above`);
    }
    x.dispose();
    model.dispose();
  }
});

Deno.test("pixelcnn: canonical parameter counts at 28×28 (binary 270,081; 8-bit 286,656)", () => {
  const binary = pixelcnn(28, 28);
  assert.equal(parameterCount(binary), 270_081);
  binary.dispose();
  const byte = pixelcnn(28, 28, { bits: 8 });
  assert.equal(parameterCount(byte), 286_656);
  byte.dispose();
});

Deno.test("pixelcnn: the cached sampler draws from the network's conditionals", async () => {
  const cases: [number, number, Record<string, number>, number][] = [
    [5, 6, {}, 2],
    [4, 5, { bits: 8, ...SMALL }, 256],
  ];
  for (const [height, width, options, levels] of cases) {
    const model = pixelcnn(height, width, options);
    randomizeBiases(model);
    const dims = height * width;
    const { checked, mismatches } = await checkSamplesFollowLogits(
      model,
      (x) => model.logits(x),
      dims,
      48,
      levels,
    );
    assert.ok(checked > 40 * dims, `checked only ${checked}`);
    assert.equal(mismatches, 0, `levels=${levels}`);
    model.dispose();
  }
});

Deno.test("pixelcnn: a few training steps lower the NLL", () => {
  const model = pixelcnn(5, 5, { ...SMALL, learningRate: 0.01 });
  const x = prototypeBatch(64, 25, 1);
  const { before, after } = trainFor(model, x, 10);
  assert.ok(after < before - 1, `NLL ${before} → ${after}`);
  x.dispose();
  model.dispose();
});

Deno.test("pixelcnn: input kind follows bits; bad bits and colour images fail in one line", () => {
  assert.equal(inputKindOf(pixelCnnSpec, { ...pixelCnnSpec.defaults }), "binary");
  assert.equal(inputKindOf(pixelCnnSpec, { ...pixelCnnSpec.defaults, bits: 8 }), "byte");
  const oneLine = (pattern: RegExp) => (e: Error) =>
    e instanceof UsageError && pattern.test(e.message) && !e.message.includes("\n");
  assert.throws(
    () => pixelcnn(4, 4, { bits: 4 }),
    oneLine(/pixelcnn: option bits: expected one of 1, 8 \(got 4\)/),
  );
  assert.throws(() => pixelcnn(4, 4, {}, 3), oneLine(/pixelcnn.*single-channel/));
});
