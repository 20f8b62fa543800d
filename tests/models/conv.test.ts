import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import { conv2dCausal, MaskedConv2d, type Padding } from "../../models/conv.ts";
import { useCpu } from "./_autoregressive.ts";

await useCpu();

function random(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Stream.derive(seed, "conv").normalArray(size), shape);
}

Deno.test("conv2dCausal: host filter gradient and input gradient equal tfjs's conv2d gradients", () => {
  const cases: [number[], number[], Padding][] = [
    [[2, 5, 6, 3], [2, 3, 3, 4], [1, 0, 1, 1]],
    [[3, 7, 7, 1], [4, 7, 1, 5], [3, 0, 3, 3]],
    [[2, 4, 5, 2], [1, 2, 2, 3], [0, 0, 1, 0]],
  ];
  for (const [xShape, kShape, padding] of cases) {
    const x = random(xShape, 1) as tf.Tensor4D;
    const k = random(kShape, 2) as tf.Tensor4D;
    const [top, bottom, left, right] = padding;
    const weights = tf.tidy(() =>
      random(tf.conv2d(x, k, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]).shape, 3)
    );
    const loss =
      (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), weights));
    const ours = tf.grads(loss((a, b) => conv2dCausal(a, b, padding)))([x, k]);
    const reference = tf.grads(
      loss((a, b) => tf.conv2d(a, b, 1, [[0, 0], [top, bottom], [left, right], [0, 0]])),
    )([x, k]);
    for (let i = 0; i < 2; i++) {
      const [a, b] = [ours[i].dataSync(), reference[i].dataSync()];
      for (let j = 0; j < a.length; j++) {
        assert.ok(Math.abs(a[j] - b[j]) < 1e-3 * (1 + Math.abs(b[j])), `${kShape} grad ${i}[${j}]`);
      }
    }
    tf.dispose([x, k, weights, ...ours, ...reference]);
  }
});

Deno.test("MaskedConv2d: masked taps never contribute and keep a zero gradient", () => {
  // PixelCNN's type-A 7×7 mask with the rows below the centre skipped.
  const conv = new MaskedConv2d("a", [7, 7, 1, 2], Stream.derive(1, "init"), [3, 0, 3, 3], {
    rows: 4,
    mask: (y, x) => y < 3 || x < 3,
  });
  const x = random([1, 7, 7, 1], 4) as tf.Tensor4D;
  const { grads } = tf.variableGrads(() => tf.sum(conv.apply(x)) as tf.Scalar, [conv.kernel]);
  const g = grads[conv.kernel.name].arraySync() as number[][][][];
  for (let y = 0; y < 7; y++) {
    for (let dx = 0; dx < 7; dx++) {
      const masked = y > 3 || (y === 3 && dx >= 3);
      const value = Math.abs(g[y][dx][0][0]) + Math.abs(g[y][dx][0][1]);
      if (masked) assert.equal(value, 0, `tap (${y}, ${dx})`);
      else assert.ok(value > 0, `tap (${y}, ${dx})`);
    }
  }
  // The output at (0, 0) sees no input at all: only the bias.
  const out = conv.apply(x).arraySync() as number[][][][];
  assert.deepEqual(out[0][0][0], [0, 0]);
  conv.dispose();
});
