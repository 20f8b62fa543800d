import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { checkGradient } from "./_gradient.ts";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import {
  cutPatches,
  drawPatchPositions,
  keyPositions,
  patchMasks,
} from "../../../datasets/patches.ts";
import { completionLosses, PuzzleGan, puzzleGan } from "../../../models/adversarial/puzzle_gan.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");

const SHAPE = { height: 12, width: 12, channels: 1 };
const D = 144;
const TINY = {
  width: 2,
  encoding: 4,
  latent: 2,
  patches: 2,
  candidates: 3,
  patchSize: 4,
  margin: 1,
};

function build(options: Record<string, number | string | boolean> = {}, seed = 1): PuzzleGan {
  return puzzleGan.create({
    shape: SHAPE,
    options: { ...defaultOptions(puzzleGan.options), ...TINY, ...options },
    init: Stream.derive(seed, "init"),
  }) as PuzzleGan;
}

// A small step: the L1 terms have kinks that a larger one crosses.
const PATCH_STEP = { eps: 1e-3 };

Deno.test("puzzle-gan: gradients of G's and D's losses match central differences", () => {
  for (const appearanceMask of ["true", "predicted"]) {
    const model = build({ appearanceMask, outsideWeight: 0.5 });
    const batch = tf.tensor2d(Stream.derive(2, "x").uniformArray(4 * D), [4, D]);
    const inputs = model.stepInputs(batch, Stream.derive(2, "noise"));
    const fake = tf.tidy(() => model.generate(inputs.patches, inputs.z).image);
    const g = () => model.generatorLoss(inputs).total;
    checkGradient(g, model.encoder[0].kernel, [0, 7, 20], PATCH_STEP);
    checkGradient(g, model.dense.kernel, [1, 33], PATCH_STEP);
    checkGradient(g, model.deconv2.bias, [1], PATCH_STEP);
    const d = () => model.discriminatorLoss(inputs, fake);
    // D's convolutions sit between batch norm over a handful of values and LReLU kinks: central
    // differences there wander by ±5% with the step; the head and the norm's shift are smooth.
    checkGradient(d, model.d.head.kernel, [0, 5], PATCH_STEP);
    checkGradient(d, model.d.bn.beta, [0, 3], PATCH_STEP);
    tf.dispose([batch, fake, inputs.real, inputs.patches, inputs.mask, inputs.z]);
    model.dispose();
  }
});

Deno.test("puzzle-gan: mask and appearance gradients have their closed forms", () => {
  // x̂, M̂, x, M on 4 values: ∂/∂x̂ mean |M ⊙ (x̂ − x)| = M · sign(x̂ − x) / 4, and with the
  // predicted mask ∂/∂M̂ mean |M̂ ⊙ x̂ − M ⊙ x| = x̂ · sign(M̂ x̂ − M x) / 4; ∂/∂M̂ mean |M̂ − M|
  // = sign(M̂ − M) / 4; outside: + λ (1 − M) · sign(x̂ − x) / 4.
  const image = tf.tensor2d([[0.5, -0.2, 0.9, -0.7]]);
  const maskProb = tf.tensor2d([[0.8, 0.3, 0.1, 0.6]]);
  const real = tf.tensor2d([[0.1, 0.4, 0.2, -0.9]]);
  const mask = tf.tensor2d([[1, 1, 0, 0]]);
  // (+ 0 turns tf's −0 into 0 for deepEqual.)
  const wrtImage = (f: (x: tf.Tensor) => tf.Scalar) =>
    Array.from(tf.grad(f)(image).dataSync(), (v) => v + 0);
  const wrtMask = (f: (m: tf.Tensor) => tf.Scalar) =>
    Array.from(tf.grad(f)(maskProb).dataSync(), (v) => v + 0);
  const losses = (x: tf.Tensor, m: tf.Tensor, outside: number, predicted = false) =>
    completionLosses(x as tf.Tensor2D, m as tf.Tensor2D, real, mask, outside, predicted);
  assert.deepEqual(wrtImage((x) => losses(x, maskProb, 0).appearance), [0.25, -0.25, 0, 0]);
  assert.deepEqual(wrtImage((x) => losses(x, maskProb, 2).appearance), [0.25, -0.25, 0.5, 0.5]);
  // sign(M̂x̂ − Mx): 0.4 − 0.1 > 0, −0.06 − 0.4 < 0, 0.09 > 0, −0.42 < 0.
  const dPredicted = wrtMask((m) => losses(image, m, 0, true).appearance);
  assert.deepEqual(dPredicted.map((v) => +v.toFixed(6)), [0.125, 0.05, 0.225, 0.175]);
  assert.deepEqual(wrtMask((m) => losses(image, m, 0).mask), [-0.25, -0.25, 0.25, 0.25]);
  tf.dispose([image, maskProb, real, mask]);
});

Deno.test("puzzle-gan: the step cuts the host's key patches and their true masks", async () => {
  const model = build();
  const n = 5;
  const values = Stream.derive(3, "x").uniformArray(n * D);
  const batch = tf.tensor2d(values, [n, D]);
  const inputs = model.stepInputs(batch, Stream.derive(3, "noise"));
  // The host's cut from the same draws (positions first, then z).
  const layout = model.patchLayout;
  const candidates = drawPatchPositions(Stream.derive(3, "noise"), n, layout, SHAPE);
  const key = keyPositions(values, n, candidates, layout, SHAPE);
  const patches = cutPatches(values, n, key, layout, SHAPE).map((v) => 2 * v - 1);
  const device = await inputs.patches.data();
  assert.ok(device.every((v, i) => Math.abs(v - patches[i]) < 1e-6), "patches");
  assert.deepEqual(
    Array.from(await inputs.mask.data()),
    Array.from(patchMasks(key, n, layout, SHAPE)),
  );
  tf.dispose([batch, inputs.real, inputs.patches, inputs.mask, inputs.z]);
  model.dispose();
});

Deno.test("puzzle-gan: training steps give finite losses; completions and masks in [0, 1]", async () => {
  const model = build({ learningRate: 1e-3 });
  const batch = tf.tensor2d(Stream.derive(4, "x").uniformArray(8 * D), [8, D]);
  const noise = Stream.derive(4, "train");
  for (let i = 0; i < 3; i++) {
    const out = model.trainStep(batch, noise);
    for (const key of ["d_loss", "g_loss", "mask_loss", "appearance_loss", "d_real", "d_fake"]) {
      assert.ok(Number.isFinite((await out[key].data())[0]), key);
    }
    tf.dispose(Object.values(out));
  }
  const per = 2 * 16;
  const { images, masks } = await model.complete(
    new Float32Array(3 * per).fill(0.5),
    3,
    Stream.derive(1, "c"),
  );
  assert.equal(images.length, 3 * D);
  assert.ok([...images, ...masks].every((v) => v >= 0 && v <= 1));
  await assert.rejects(
    () => model.complete(new Float32Array(per), 3, Stream.derive(1, "c")),
    RangeError,
  );
  tf.dispose(batch);
  model.dispose();
});

Deno.test("puzzle-gan: a layout that does not fit the images is one clear error", () => {
  assert.throws(
    () => build({ patchSize: 8, margin: 3 }),
    (e: Error) => e instanceof UsageError && /puzzle-gan: patches of 8×8/.test(e.message),
  );
});
