import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { MaskedConv2d } from "../../../models/autoregressive/shared.ts";
import { useCpu } from "./_helpers.ts";

await useCpu();

function random(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Stream.derive(seed, "conv").normalArray(size), shape);
}

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
