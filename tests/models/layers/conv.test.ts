import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { selectBackend } from "../../../core/backend.ts";
import { DownConv, MaskedConv2d, UpConv } from "../../../models/layers/conv.ts";

await selectBackend("cpu");

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

Deno.test("the conv layers' custom kernel gradients match tfjs's own", () => {
  const init = Stream.derive(2, "init");
  const down = new DownConv("d", 3, 5, init);
  const up = new UpConv("u", 5, 2, init);
  const x = tf.tensor4d(init.normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const loss = (k1: tf.Tensor, k2: tf.Tensor, custom: boolean) => {
    const h = custom
      ? down.apply(x)
      : tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 2, "same"), down.bias) as tf.Tensor4D;
    const out = custom
      ? up.apply(h)
      : tf.add(tf.conv2dTranspose(h, k2 as tf.Tensor4D, [2, 8, 8, 2], 2, "same"), up.bias);
    return tf.sum(tf.square(tf.sin(out))) as tf.Scalar;
  };
  const mine = tf.variableGrads(() => loss(down.kernel, up.kernel, true), [down.kernel, up.kernel]);
  const ref = tf.grads((k1: tf.Tensor, k2: tf.Tensor) => loss(k1, k2, false))([
    down.kernel,
    up.kernel,
  ]);
  const a = [mine.grads[down.kernel.name], mine.grads[up.kernel.name]];
  for (let i = 0; i < 2; i++) {
    const diff = tf.max(tf.abs(tf.sub(a[i], ref[i]))).dataSync()[0];
    const scale = tf.max(tf.abs(ref[i])).dataSync()[0];
    assert.ok(diff < 1e-4 * scale, `kernel ${i}: ${diff} vs ${scale}`);
  }
});
