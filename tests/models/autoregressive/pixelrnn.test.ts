import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { UsageError } from "../../../core/errors.ts";
import {
  diagonalLayer,
  type PixelRnn,
  pixelRnnDiagonalSpec,
  pixelRnnRowSpec,
  recomputed,
  rowLayer,
} from "../../../models/autoregressive/pixelrnn.ts";
import { inputKindOf, parameterCount } from "../../../models/model.ts";
import {
  allBinaryImages,
  allImages,
  checkSamplesFollowLogits,
  jacobianRows,
  prototypeBatch,
  testImage,
  totalProbability,
  trainFor,
  useCpu,
} from "./_helpers.ts";
import { defaultOptions } from "../../../models/options.ts";

await useCpu();

const KINDS = [["row", pixelRnnRowSpec], ["diagonal", pixelRnnDiagonalSpec]] as const;
const SMALL = { layers: 2, units: 4 };

function pixelrnn(
  kind: "row" | "diagonal",
  height: number,
  width: number,
  options: Record<string, number> = {},
  channels = 1,
): PixelRnn {
  const spec = kind === "row" ? pixelRnnRowSpec : pixelRnnDiagonalSpec;
  const model = spec.create({
    shape: { height, width, channels },
    options: { ...defaultOptions(spec.options), ...options },
    init: Stream.derive(7, "init"),
  }) as PixelRnn;
  // Random non-zero biases, so that no check rests on the zero initial biases.
  const stream = Stream.derive(3, "biases");
  for (const [name, v] of model.weights()) {
    if (name.endsWith("/bias")) {
      v.assign(tf.tensor(stream.normalArray(v.size).map((z) => 0.3 * z), v.shape));
    }
  }
  return model;
}

Deno.test("pixelrnn: probabilities of all binary 3×4 images sum to 1 (both kinds)", () => {
  const images = allBinaryImages(12);
  for (const [kind] of KINDS) {
    for (const options of [SMALL]) {
      const model = pixelrnn(kind, 3, 4, options);
      const total = totalProbability(model, images);
      assert.ok(Math.abs(total - 1) < 1e-5, `${kind} ${JSON.stringify(options)}: Σ p = ${total}`);
      model.dispose();
    }
  }
  images.dispose();
});

Deno.test("pixelrnn 8-bit: all 256² two-pixel images sum to 1 (both kinds)", () => {
  const images = allImages(2, 256);
  for (const [kind] of KINDS) {
    const model = pixelrnn(kind, 1, 2, { bits: 8, layers: 1, units: 2 });
    const total = totalProbability(model, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `${kind}: Σ p = ${total}`);
    model.dispose();
  }
  images.dispose();
});

Deno.test("pixelrnn: output i has zero gradient w.r.t. inputs j ≥ i (both kinds, binary and 8-bit)", () => {
  // 5 rows × 9 columns: wider than the 7×7 input layer, so that context beyond it must come
  // through the LSTMs (the right-to-left direction for the pixels above and to the right).
  const [height, width] = [5, 9];
  const dims = height * width;
  for (const [kind] of KINDS) {
    for (const bits of [1, 8]) {
      const model = pixelrnn(kind, height, width, { bits, layers: 3, units: 4 });
      const jacobian = jacobianRows(model, testImage(dims, bits));
      for (let i = 0; i < dims; i++) {
        for (let j = i; j < dims; j++) {
          assert.equal(jacobian[i][j], 0, `${kind} bits=${bits} i=${i} j=${j}`);
        }
        const [r, c] = [Math.floor(i / width), i % width];
        if (c > 0) assert.notEqual(jacobian[i][i - 1], 0, `${kind} i=${i} left`);
        if (r > 0) assert.notEqual(jacobian[i][i - width], 0, `${kind} i=${i} above`);
        // The Diagonal BiLSTM sees the whole past, far right of the rows above included, but
        // for one pixel: the last one of the row above, which no feature of that row contains
        // (each sees only pixels before it), so only the 7×7 input layer reaches it.
        if (kind === "diagonal") {
          for (let j = 0; j < i; j++) {
            if (j === r * width - 1 && c < width - 4) {
              assert.equal(jacobian[i][j], 0, `diagonal i=${i} end of the row above`);
              continue;
            }
            assert.notEqual(jacobian[i][j], 0, `diagonal bits=${bits} i=${i} blind to j=${j}`);
          }
        }
      }
      model.dispose();
    }
  }
});

Deno.test("pixelrnn: canonical parameter counts at 28×28 (7 layers, h = 16)", () => {
  const h = 16;
  const input = 7 * 7 * 2 * h + 2 * h;
  const out = h * 2 * h + 2 * h;
  const head = (2 * h * 2 * h + 2 * h) + (2 * h + 1);
  // Row LSTM: masked 1×3 input-to-state (full kernel stored) + 1×3 state-to-state + 1×1 out.
  const row = 3 * 2 * h * 4 * h + 4 * h + 3 * h * 4 * h + out;
  // Diagonal: per direction a 1×1 input-to-state and a 2×1 state-to-state.
  const diagonal = 2 * (2 * h * 4 * h + 4 * h + 2 * h * 4 * h) + out;
  const expected = { row: input + 7 * row + head, diagonal: input + 7 * diagonal + head };
  for (const [kind] of KINDS) {
    const model = pixelrnn(kind, 28, 28);
    assert.equal(parameterCount(model), expected[kind], kind);
    model.dispose();
  }
});

Deno.test("pixelrnn: the cell-by-cell sampler draws from the network's conditionals", async () => {
  for (const [kind] of KINDS) {
    const cases: [number, number, Record<string, number>, number][] = [
      [5, 6, { layers: 3, units: 8 }, 2],
      [4, 5, { bits: 8, ...SMALL }, 256],
    ];
    for (const [height, width, options, levels] of cases) {
      const model = pixelrnn(kind, height, width, options);
      const dims = height * width;
      const { checked, mismatches } = await checkSamplesFollowLogits(
        model,
        (x) => model.logits(x),
        dims,
        32,
        levels,
      );
      assert.ok(checked > 28 * dims, `${kind}: checked only ${checked}`);
      assert.equal(mismatches, 0, `${kind} levels=${levels}`);
      model.dispose();
    }
  }
});

Deno.test("pixelrnn: a few training steps lower the NLL (both kinds)", () => {
  for (const [kind] of KINDS) {
    const model = pixelrnn(kind, 5, 5, { layers: 2, units: 8, learningRate: 0.01 });
    const x = prototypeBatch(64, 25, 1);
    const { before, after } = trainFor(model, x, 10);
    assert.ok(after < before - 1, `${kind}: NLL ${before} → ${after}`);
    x.dispose();
    model.dispose();
  }
});

Deno.test("pixelrnn: input kind follows bits; bad bits and colour images fail in one line", () => {
  for (const [kind, spec] of KINDS) {
    assert.equal(inputKindOf(spec, { ...defaultOptions(spec.options) }), "binary");
    assert.equal(inputKindOf(spec, { ...defaultOptions(spec.options), bits: 8 }), "byte");
    const oneLine = (pattern: RegExp) => (e: Error) =>
      e instanceof UsageError && pattern.test(e.message) && !e.message.includes("\n");
    assert.throws(() => pixelrnn(kind, 4, 4, { bits: 4 }), oneLine(/pixelrnn.*bits=4/));
    assert.throws(() => pixelrnn(kind, 4, 4, {}, 3), oneLine(/pixelrnn.*single-channel/));
    assert.ok(spec.options && spec.references?.length, `${kind}: options and references`);
  }
});

Deno.test("pixelrnn: recomputed layers give the taped gradients, and a step leaks no tensor", () => {
  const stream = Stream.derive(9, "weights");
  const random = (shape: number[]) =>
    tf.tensor(stream.normalArray(shape.reduce((a, b) => a * b)), shape);
  const h = 3;
  const u = random([2, 3, 4, 2 * h]) as tf.Tensor4D;
  const mask = tf.tensor4d([1, 1, 0], [1, 3, 1, 1]);
  const cases: [string, (v: tf.Tensor4D, w: tf.Tensor[]) => tf.Tensor4D, number[][]][] = [
    ["row", (v, w) => rowLayer(v, w, mask), [[1, 3, 2 * h, 4 * h], [4 * h], [1, 3, h, 4 * h], [
      h,
      2 * h,
    ], [2 * h]]],
    ["diagonal", diagonalLayer, [
      [2 * h, 4 * h],
      [4 * h],
      [2 * h, 4 * h],
      [2 * h, 4 * h],
      [4 * h],
      [2 * h, 4 * h],
      [h, 2 * h],
      [2 * h],
    ]],
  ];
  for (const [kind, layer, shapes] of cases) {
    const weights = shapes.map(random);
    const projection = random(u.shape);
    const loss = (run: (v: tf.Tensor4D, w: tf.Tensor[]) => tf.Tensor4D) => (...xs: tf.Tensor[]) =>
      tf.sum(tf.mul(run(xs[0] as tf.Tensor4D, xs.slice(1)), projection)) as tf.Scalar;
    const taped = tf.grads(loss(layer))([u, ...weights]);
    const recomputedGrads = tf.grads(loss((v, w) => recomputed(layer, v, w)))([u, ...weights]);
    taped.forEach((g, i) => {
      const diff = tf.max(tf.abs(tf.sub(g, recomputedGrads[i]))).dataSync()[0];
      assert.ok(diff < 1e-5, `${kind}: gradient ${i} differs by ${diff}`);
    });
    tf.dispose([...weights, projection, ...taped, ...recomputedGrads]);
  }
  tf.dispose([u, mask]);
  for (const [kind] of KINDS) {
    const model = pixelrnn(kind, 4, 4, SMALL);
    const x = prototypeBatch(8, 16, 2);
    tf.dispose(Object.values(model.trainStep(x)));
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(model.trainStep(x)));
    assert.equal(tf.memory().numTensors, before, `${kind}: tensors leaked by a training step`);
    x.dispose();
    model.dispose();
  }
});
