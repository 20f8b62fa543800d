import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { UsageError } from "../../../core/errors.ts";
import {
  type GatedPixelCnn,
  gatedPixelCnnSpec,
} from "../../../models/autoregressive/gated_pixelcnn.ts";
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

function gated(
  height: number,
  width: number,
  options: Record<string, number> = {},
  channels = 1,
): GatedPixelCnn {
  return gatedPixelCnnSpec.create({
    shape: { height, width, channels },
    options: { ...gatedPixelCnnSpec.defaults, ...options },
    init: Stream.derive(7, "init"),
  }) as GatedPixelCnn;
}

/** Random non-zero biases, so that no check rests on the zero initial biases. */
function randomizeBiases(model: GatedPixelCnn): void {
  const stream = Stream.derive(3, "biases");
  for (const [name, v] of model.weights()) {
    if (name.endsWith("/bias")) {
      v.assign(tf.tensor1d(stream.normalArray(v.size).map((z) => 0.3 * z)));
    }
  }
}

const SMALL = { channels: 8, layers: 3 };

Deno.test("gated-pixelcnn: probabilities of all binary 4×3 and 2×3 images sum to 1", () => {
  const cases: [number, number, Record<string, number>][] = [[4, 3, SMALL], [2, 3, {}]];
  for (const [height, width, options] of cases) {
    const images = allBinaryImages(height * width);
    const model = gated(height, width, options);
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

Deno.test("gated-pixelcnn 8-bit: softmaxes sum to 1; all 1- and 2-pixel images sum to 1", () => {
  const model = gated(3, 3, { bits: 8 });
  randomizeBiases(model);
  const x = tf.tensor2d(Stream.derive(1, "x").uniformArray(4 * 9).map((u) => Math.floor(u * 256)), [
    4,
    9,
  ]);
  const sums = tf.tidy(() => tf.sum(tf.softmax(model.logits(x)), 2).dataSync());
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, `Σ softmax = ${s}`);
  model.dispose();
  x.dispose();
  const cases: [number, number, Record<string, number>][] = [
    [1, 1, { bits: 8 }],
    [2, 1, { bits: 8, channels: 4, layers: 2 }],
  ];
  for (const [height, width, options] of cases) {
    const images = allImages(height * width, 256);
    const m = gated(height, width, options);
    randomizeBiases(m);
    const total = totalProbability(m, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `${height}×${width}: Σ p = ${total}`);
    m.dispose();
    images.dispose();
  }
});

/**
 * The input pixels each output can depend on, from the architecture alone (no tfjs): vertical
 * stack V, horizontal stack H, per layer. Returns dependsOn[i][j] for an H×W image.
 */
function structuralField(height: number, width: number, layers: number): boolean[][] {
  const dims = height * width;
  const inside = (r: number, c: number) => r >= 0 && r < height && c >= 0 && c < width;
  const empty = () => Array.from({ length: dims }, () => new Set<number>());
  let v = empty();
  let h = empty();
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      for (let dy = -3; dy <= -1; dy++) {
        for (let dx = -3; dx <= 3; dx++) {
          if (inside(r + dy, c + dx)) v[i].add((r + dy) * width + c + dx);
        }
      }
      for (let dx = -3; dx <= -1; dx++) if (inside(r, c + dx)) h[i].add(r * width + c + dx);
      for (const j of v[i]) h[i].add(j);
    }
  }
  for (let l = 1; l < layers; l++) {
    const v2 = empty();
    const h2 = empty();
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        for (const dy of [-1, 0]) {
          for (const dx of [-1, 0, 1]) {
            if (inside(r + dy, c + dx)) {
              for (const j of v[(r + dy) * width + c + dx]) v2[i].add(j);
            }
          }
        }
        for (const j of h[i]) h2[i].add(j);
        if (c > 0) { for (const j of h[i - 1]) h2[i].add(j); }
        for (const j of v2[i]) h2[i].add(j);
      }
    }
    [v, h] = [v2, h2];
  }
  return h.map((set) => Array.from({ length: dims }, (_, j) => set.has(j)));
}

Deno.test("gated-pixelcnn: gradients are zero for j ≥ i and non-zero over the whole field (no blind spot)", () => {
  const [height, width] = [8, 8];
  const dims = height * width;
  for (const bits of [1, 8]) {
    // 7 gated layers as in the canonical net; 16 channels suffice for the structure.
    const model = gated(height, width, { bits, channels: 16 });
    randomizeBiases(model);
    const field = structuralField(height, width, 7);
    const values = Stream.derive(2, "x").uniformArray(dims).map((u) =>
      bits === 8 ? Math.floor(u * 256) : u < 0.5 ? 1 : 0
    );
    // Row i of the Jacobian of logit_i: one backward pass over `dims` copies of the image,
    // copy i contributing only its own logit i (the copies are independent examples).
    const x = tf.tensor2d(Array.from({ length: dims }, () => Array.from(values)));
    const select = tf.oneHot(tf.range(0, dims, 1, "int32"), dims);
    const grad = tf.grad((input: tf.Tensor) => {
      const out = model.logits(input as tf.Tensor2D);
      const perPixel = out.rank === 2
        ? out
        : tf.sum(tf.mul(out, tf.linspace(-1, 1, out.shape[2]!)), 2);
      return tf.sum(tf.mul(perPixel, select));
    })(x);
    const jacobian = grad.arraySync() as number[][];
    tf.dispose([grad, select]);
    for (let i = 0; i < dims; i++) {
      const g = jacobian[i];
      const [r, c] = [Math.floor(i / width), i % width];
      for (let j = 0; j < dims; j++) {
        const [rj, cj] = [Math.floor(j / width), j % width];
        if (j >= i) assert.equal(g[j], 0, `bits=${bits} i=${i} j=${j}: depends on a later pixel`);
        else assert.equal(g[j] !== 0, field[i][j], `bits=${bits} i=${i} j=${j}`);
        // No blind spot: every earlier pixel of the 4 rows above within 4 columns is seen,
        // including (r − 1, c + 4), which PixelCNN cannot see.
        if (j < i && r - rj <= 3 && Math.abs(c - cj) <= 4) {
          assert.notEqual(g[j], 0, `bits=${bits} i=${i} j=${j}: blind spot`);
        }
      }
    }
    x.dispose();
    model.dispose();
  }
});

Deno.test("gated-pixelcnn: parameter counts at 28×28 (binary 552,193; 8-bit 568,768)", () => {
  const binary = gated(28, 28);
  assert.equal(parameterCount(binary), 552_193);
  binary.dispose();
  const byte = gated(28, 28, { bits: 8 });
  assert.equal(parameterCount(byte), 568_768);
  byte.dispose();
});

Deno.test("gated-pixelcnn: the row-cached sampler draws from the network's conditionals", async () => {
  const cases: [number, number, Record<string, number>, number][] = [
    [4, 5, {}, 2],
    [4, 5, { bits: 8, ...SMALL }, 256],
  ];
  for (const [height, width, options, levels] of cases) {
    const model = gated(height, width, options);
    randomizeBiases(model);
    const dims = height * width;
    const { checked, mismatches } = await checkSamplesFollowLogits(
      model,
      (x) => model.logits(x),
      dims,
      32,
      levels,
    );
    assert.ok(checked > 25 * dims, `checked only ${checked}`);
    assert.equal(mismatches, 0, `levels=${levels}`);
    model.dispose();
  }
});

Deno.test("gated-pixelcnn: a few training steps lower the NLL", () => {
  const model = gated(5, 5, { ...SMALL, learningRate: 0.01 });
  const x = prototypeBatch(64, 25, 1);
  const { before, after } = trainFor(model, x, 10);
  assert.ok(after < before - 1, `NLL ${before} → ${after}`);
  x.dispose();
  model.dispose();
});

Deno.test("gated-pixelcnn: input kind follows bits; bad bits and colour images fail in one line", () => {
  assert.equal(inputKindOf(gatedPixelCnnSpec, { ...gatedPixelCnnSpec.defaults }), "binary");
  assert.equal(inputKindOf(gatedPixelCnnSpec, { ...gatedPixelCnnSpec.defaults, bits: 8 }), "byte");
  const oneLine = (pattern: RegExp) => (e: Error) =>
    e instanceof UsageError && pattern.test(e.message) && !e.message.includes("\n");
  assert.throws(
    () => gated(4, 4, { bits: 2 }),
    oneLine(/gated-pixelcnn: option bits: expected one of 1, 8 \(got 2\)/),
  );
  assert.throws(() => gated(4, 4, {}, 3), oneLine(/gated-pixelcnn.*single-channel/));
});
