import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import {
  captureModel,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreModel,
} from "../../../core/checkpoint.ts";
import { criticLoss, growthAt, type Progan, progan } from "../../../models/adversarial/progan.ts";
import {
  ProganDiscriminator,
  ProganGenerator,
  realsAtStage,
} from "../../../models/adversarial/progan_nets.ts";
import {
  downsample2x,
  EqualizedConv,
  EqualizedDense,
  leakyRelu,
  minibatchStddev,
  pixelNorm,
  upsample2x,
} from "../../../models/layers/progan_layers.ts";
import { defaultOptions } from "../../../models/options.ts";
import { growthViews } from "../../../benchmarks/views/growth.ts";
import { parameterCount } from "../../../models/model.ts";

await selectBackend("cpu");
const TINY = { height: 8, width: 8, channels: 1 };
const SMALL = { width: 4, latent: 6, batchSize: 4, imagesPerStage: 16 };

function build(options = {}, seed = 1): Progan {
  return progan.create({
    shape: TINY,
    options: { ...defaultOptions(progan.options), ...SMALL, ...options },
    init: Stream.derive(seed, "init"),
  }) as Progan;
}

const tensor = (shape: number[], seed: number) =>
  tf.tensor(Stream.derive(seed, "t").normalArray(shape.reduce((a, b) => a * b, 1)), shape);

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = "") {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * scale,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("pixel norm divides each pixel's feature vector by its root mean square (+ ε)", () => {
  const x = tensor([2, 3, 3, 5], 1);
  const values = x.dataSync();
  const out = pixelNorm(x).dataSync();
  for (let p = 0; p < 2 * 3 * 3; p++) {
    let ms = 0;
    for (let c = 0; c < 5; c++) ms += values[p * 5 + c] ** 2 / 5;
    const expected = Array.from({ length: 5 }, (_, c) => values[p * 5 + c] / Math.sqrt(ms + 1e-8));
    close(out.subarray(p * 5, p * 5 + 5), expected, 1e-5, `pixel ${p}`);
  }
});

Deno.test("minibatch stddev appends the mean over features and pixels of the batch std", () => {
  const [b, h, w, c] = [3, 2, 2, 4];
  const x = tensor([b, h, w, c], 2);
  const v = x.dataSync();
  let sum = 0;
  for (let i = 0; i < h * w * c; i++) {
    let mean = 0;
    for (let n = 0; n < b; n++) mean += v[n * h * w * c + i] / b;
    let variance = 0;
    for (let n = 0; n < b; n++) variance += (v[n * h * w * c + i] - mean) ** 2 / b;
    sum += Math.sqrt(variance + 1e-8);
  }
  const out = minibatchStddev(x as tf.Tensor4D);
  assert.deepEqual(out.shape, [b, h, w, c + 1]);
  const o = out.dataSync();
  for (let p = 0; p < b * h * w; p++) {
    close(o.subarray(p * (c + 1), p * (c + 1) + c), v.subarray(p * c, p * c + c), 0, "copy");
    close([o[p * (c + 1) + c]], [sum / (h * w * c)], 1e-5, "std plane");
  }
});

Deno.test("equalized learning rate: N(0, 1) weights used times gain/√fan-in", () => {
  const init = Stream.derive(3, "init");
  const conv = new EqualizedConv("c", 3, 2, 3, init);
  assert.ok(Math.abs(conv.scale - Math.SQRT2 / Math.sqrt(18)) < 1e-15);
  const dense = new EqualizedDense("d", 50, 40, init, 1);
  assert.ok(Math.abs(dense.scale - 1 / Math.sqrt(50)) < 1e-15);
  const k = [...dense.kernel.dataSync()];
  const mean = k.reduce((a, b) => a + b, 0) / k.length;
  const std = Math.sqrt(k.reduce((a, b) => a + (b - mean) ** 2, 0) / k.length);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(std - 1) < 0.05, `N(0, 1): ${mean} ± ${std}`);
  // The conv against a direct 3×3 `same` convolution with the scaled kernel.
  const x = tensor([1, 4, 4, 2], 4);
  tf.tidy(() => conv.bias.assign(tf.tensor1d([0.1, -0.2, 0.3])));
  const xv = x.dataSync();
  const kv = conv.kernel.dataSync();
  const expected: number[] = [];
  for (let y = 0; y < 4; y++) {
    for (let xx = 0; xx < 4; xx++) {
      for (let o = 0; o < 3; o++) {
        let s = [0.1, -0.2, 0.3][o];
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const [yy, xs] = [y + dy, xx + dx];
            if (yy < 0 || yy >= 4 || xs < 0 || xs >= 4) continue;
            for (let i = 0; i < 2; i++) {
              s += xv[(yy * 4 + xs) * 2 + i] * kv[(((dy + 1) * 3 + dx + 1) * 2 + i) * 3 + o] *
                conv.scale;
            }
          }
        }
        expected.push(s);
      }
    }
  }
  close(conv.apply(x as tf.Tensor4D).dataSync(), expected, 1e-5, "conv");
  const row = tensor([1, 50], 5);
  const rv = row.dataSync();
  const out = dense.apply(row as tf.Tensor2D).dataSync();
  close(
    out,
    Array.from({ length: 40 }, (_, o) => {
      let s = 0;
      for (let i = 0; i < 50; i++) s += rv[i] * k[i * 40 + o] * dense.scale;
      return s;
    }),
    1e-5,
    "dense",
  );
});

Deno.test("resampling and leaky ReLU match their closed forms", () => {
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
  assert.deepEqual([...downsample2x(x).dataSync()], [3.5, 5.5, 11.5, 13.5]);
  const up = upsample2x(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1])).dataSync();
  assert.deepEqual([...up], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const v = tf.tensor4d([-2, -0.5, 0.5, 3], [1, 2, 2, 1]);
  close(leakyRelu(v).dataSync(), [-0.4, -0.1, 0.5, 3], 1e-7, "lrelu");
});

Deno.test("WGAN-GP loss of a linear critic D(x) = w·x: its closed form", () => {
  // ∇D = w everywhere: penalty (‖w‖ − 1)²; loss −(E w·real − E w·fake) + λ·penalty + ε E (w·real)².
  const w = tf.tensor2d([0.5, -1, 2, 0.25], [4, 1]);
  const critic = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [2, 4]), w) as tf.Tensor2D;
  const real = tf.tensor4d([1, 2, 3, 4, 0, 1, 0, 1], [2, 2, 2, 1]);
  const fake = tf.tensor4d([0, 0, 1, 1, 2, 2, 0, 0], [2, 2, 2, 1]);
  const u = tf.tensor4d([0.3, 0.8], [2, 1, 1, 1]);
  const parts = criticLoss(critic, real, fake, u, 10, 0.001);
  const norm = Math.sqrt(0.25 + 1 + 4 + 0.0625 + 1e-8);
  const [r1, r2, f1, f2] = [5.5, -0.75, 2.25, -1];
  const distance = (r1 + r2) / 2 - (f1 + f2) / 2;
  close(parts.distance.dataSync(), [distance], 1e-6, "distance");
  close(parts.penalty.dataSync(), [(norm - 1) ** 2], 1e-5, "penalty");
  const loss = -distance + 10 * (norm - 1) ** 2 + 0.001 * (r1 * r1 + r2 * r2) / 2;
  close(parts.loss.dataSync(), [loss], 1e-5, "loss");
});

Deno.test("WGAN-GP: the penalty's parameter gradient (double backprop) equals finite differences", () => {
  const d = new ProganDiscriminator(TINY, 2, Stream.derive(6, "init"));
  const real = tensor([3, 8, 8, 1], 7) as tf.Tensor4D;
  const fake = tensor([3, 8, 8, 1], 8) as tf.Tensor4D;
  const u = tf.tensor4d([0.2, 0.5, 0.9], [3, 1, 1, 1]);
  const alpha = tf.scalar(0.3);
  const penalty = () =>
    tf.tidy(() => criticLoss((x) => d.apply(x, 2, alpha), real, fake, u, 1, 0).penalty);
  // A kernel of the newest block, of the faded-out fromRGB and of the last dense layer.
  const probes = [d.blocks[1][0].kernel, d.fromRgb[1].kernel, d.dense.kernel];
  const { grads } = tf.variableGrads(penalty, probes);
  for (const variable of probes) {
    const analytic = grads[variable.name].dataSync();
    for (const index of new Set([0, Math.floor(variable.size / 2), variable.size - 1])) {
      const h = 1e-3;
      const original = variable.dataSync().slice();
      const at = (delta: number) => {
        const moved = original.slice();
        moved[index] += delta;
        tf.tidy(() => variable.assign(tf.tensor(moved, variable.shape)));
        return penalty().dataSync()[0];
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
      assert.ok(
        Math.abs(numeric - analytic[index]) <= 2e-3 + 2e-2 * Math.abs(numeric),
        `${variable.name}[${index}]: analytic ${analytic[index]} vs numeric ${numeric}`,
      );
    }
  }
});

Deno.test("fade-in: α = 0 is the previous stage upsampled (G) or pooled (D), α = 1 the new one", () => {
  const g = new ProganGenerator(TINY, 5, 4, Stream.derive(9, "init"));
  const d = new ProganDiscriminator(TINY, 4, Stream.derive(9, "init"));
  const z = tensor([3, 5], 10) as tf.Tensor2D;
  const x = tensor([3, 8, 8, 1], 11) as tf.Tensor4D;
  const [zero, one] = [tf.scalar(0), tf.scalar(1)];
  for (const stage of [1, 2]) {
    const previous = upsample2x(g.apply(z, stage - 1)).dataSync();
    close(g.apply(z, stage, zero).dataSync(), previous, 1e-6, `G stage ${stage} α=0`);
    const full = g.apply(z, stage).dataSync();
    close(g.apply(z, stage, one).dataSync(), full, 1e-6, "G α=1");
    const blend = previous.map((p, i) => 0.7 * p + 0.3 * full[i]);
    close(g.apply(z, stage, tf.scalar(0.3)).dataSync(), blend, 1e-5, "G α=0.3");
    const input = realsAtStage(x, stage);
    const pooled = d.apply(downsample2x(input), stage - 1).dataSync();
    close(d.apply(input, stage, zero).dataSync(), pooled, 1e-5, `D stage ${stage} α=0`);
    close(d.apply(input, stage, one).dataSync(), d.apply(input, stage).dataSync(), 1e-6, "D α=1");
    const blurred = upsample2x(downsample2x(input)).dataSync();
    close(realsAtStage(x, stage, zero).dataSync(), blurred, 1e-6, "reals α=0");
  }
  assert.deepEqual(realsAtStage(x, 0).shape, [3, 2, 2, 1]);
});

Deno.test("the stage schedule follows the training images seen", () => {
  // 100 images per stage: stage 1 from 100 (α 0 → 1 by 150), stage 2 from 200, kept after 300.
  const cases: [number, number, number][] = [
    [0, 0, 1],
    [99, 0, 1],
    [100, 1, 0],
    [125, 1, 0.5],
    [150, 1, 1],
    [199, 1, 1],
    [200, 2, 0],
    [240, 2, 0.8],
    [10_000, 2, 1],
  ];
  for (const [images, stage, alpha] of cases) {
    assert.deepEqual(growthAt(images, 100), { stage, alpha }, `${images} images`);
  }
});

/** `steps` training steps; the logged stage/α and every loss value, per step. */
async function train(model: Progan, steps: number, noise: Stream, data: Stream) {
  const log: Record<string, number>[] = [];
  for (let i = 0; i < steps; i++) {
    const x = tf.tensor2d(data.uniformArray(4 * 64), [4, 64]);
    const out = model.trainStep(x, noise);
    const row: Record<string, number> = {};
    for (const [k, s] of Object.entries(out)) row[k] = (await s.data())[0];
    tf.dispose([x, ...Object.values(out)]);
    log.push(row);
  }
  return log;
}

async function weightsOf(model: Progan) {
  const out: Record<string, number[]> = {};
  for (const [name, v] of model.weights()) out[name] = [...await v.data()];
  return out;
}

Deno.test("progan trains through every stage; a resumed run equals an uninterrupted one", async () => {
  // 16 images per stage at batch 4: stages change after steps 4 and 8, each faded over 2 steps.
  const reference = build();
  const log = await train(reference, 11, Stream.derive(1, "train"), Stream.derive(1, "data"));
  assert.deepEqual(log.map((r) => r.stage), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
  assert.deepEqual(log.map((r) => r.alpha), [1, 1, 1, 1, 0, 0.5, 1, 1, 0, 0.5, 1]);
  for (const row of log) for (const v of Object.values(row)) assert.ok(Number.isFinite(v));
  // Interrupted after step 5 (inside a fade-in): checkpoint, new model, restore, continue.
  const first = build();
  const noise = Stream.derive(1, "train");
  const data = Stream.derive(1, "data");
  const before = await train(first, 5, noise, data);
  const { blobs, optimizers } = await captureModel(first);
  const bytes = encodeCheckpoint({ run: {}, optimizers }, blobs);
  const [noiseState, dataState] = [noise.state(), data.state()];
  first.dispose();
  const resumed = build();
  await restoreModel(decodeCheckpoint(bytes, "test"), resumed, "test");
  const after = await train(resumed, 6, Stream.fromState(noiseState), Stream.fromState(dataState));
  assert.deepEqual([...before, ...after], log);
  assert.deepEqual(await weightsOf(resumed), await weightsOf(reference));
  const samples = await reference.sample(3, Stream.derive(1, "s"));
  assert.deepEqual(await resumed.sample(3, Stream.derive(1, "s")), samples);
  assert.ok(samples.every((v) => v >= 0 && v <= 1));
  // The growth view: G at the end of every stage trained in this process, then as trained.
  const full = await growthViews(reference, TINY, Stream.derive(1, "view"), 4);
  assert.deepEqual(full.record.rows.map((r) => [r.stage, r.size, r.when]), [
    [0, 2, "end of stage"],
    [1, 4, "end of stage"],
    [2, 8, "end of training"],
  ]);
  assert.deepEqual(full.record.missing, []);
  assert.deepEqual(full.record.final, { stage: 2, alpha: 1, size: 8, upsampled: false });
  // The resumed process started inside stage 1: stage 0's end is missing, and said so.
  const partial = await growthViews(resumed, TINY, Stream.derive(1, "view"), 4);
  assert.deepEqual(partial.record.rows.map((r) => r.stage), [1, 2]);
  assert.deepEqual(partial.record.missing, [0]);
  reference.dispose();
  resumed.dispose();
});

Deno.test("same seed, same samples; an earlier stage samples upsampled to full size", async () => {
  const run = async () => {
    const model = build({ imagesPerStage: 1000 });
    await train(model, 2, Stream.derive(2, "train"), Stream.derive(2, "data"));
    assert.equal(model.growth().stage, 0);
    const samples = await model.sample(2, Stream.derive(2, "s"));
    const decoder = model.generator(Stream.derive(2, "g"));
    const z = tensor([1, 6], 12) as tf.Tensor2D;
    const image = decoder.decode(z).dataSync();
    // Stage 0 is 2×2 on an 8×8 image: every 4×4 block is one value.
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) assert.equal(image[y * 8 + x], image[(y & ~3) * 8 + (x & ~3)]);
    }
    // AIS differentiates the decoder with respect to z.
    const slope = tf.grad((c) => tf.sum(decoder.decode(c as tf.Tensor2D)))(z).dataSync();
    assert.ok(slope.every(Number.isFinite) && slope.some((v) => v !== 0));
    model.dispose();
    return samples;
  };
  assert.deepEqual(await run(), await run());
});

Deno.test("progan at MNIST size: stage sizes 7, 14, 28 and its parameter count", () => {
  const model = progan.create({
    shape: { height: 28, width: 28, channels: 1 },
    options: { ...defaultOptions(progan.options), width: 8, latent: 10 },
    init: Stream.derive(1, "init"),
  }) as Progan;
  // c = [8, 8, 4]. G: dense 10·392 + 392, conv0 9·64 + 8, block1 2·(9·64 + 8), block2
  // (9·32 + 4) + (9·16 + 4), toRGB 9 + 9 + 5 = 6,527. D: fromRGB 16 + 16 + 8, block1
  // 2·(9·64 + 8), block2 (9·16 + 4) + (9·32 + 8), conv0 9·9·8 + 8, dense 392·8 + 8, head 9 = 5,461.
  assert.equal(parameterCount(model), 6_527 + 5_461);
  assert.deepEqual(model.stageGenerators().map((s) => s.size), [7]);
  model.dispose();
});
