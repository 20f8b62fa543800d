import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { completionScores, maskIoU, PSNR_CAP } from "../../metrics/completion.ts";
import { classifierAccuracy, loadLenet } from "../../metrics/features/classifier.ts";

await selectBackend("cpu");

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

Deno.test("mask IoU: |P ∩ T| / |P ∪ T| by hand, 0.5 counts as inside, first channel only", () => {
  const shape = { height: 1, width: 4, channels: 1 };
  // Predicted inside: pixels 0, 1 (0.5 is inside, 0.49 is not); true: 1, 2 → 1 / 3.
  const iou = maskIoU([0.9, 0.5, 0.49, 0], [0, 1, 1, 0], shape);
  close(iou[0], 1 / 3);
  // Two images at once; an empty prediction of a non-empty truth scores 0, two empty masks 1.
  assert.deepEqual(Array.from(maskIoU([0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0], shape)), [
    0,
    1,
  ]);
  // Two channels: only the first of each pixel is read.
  const rgb = { height: 1, width: 2, channels: 2 };
  assert.deepEqual(Array.from(maskIoU([1, 0, 1, 0], [1, 1, 0, 1], rgb)), [0.5]);
});

// Images of 12×12 whose pixels are one constant each: PSNR and SSIM have closed forms.
const SHAPE = { height: 12, width: 12, channels: 1 };
const D = 144;
const LEVELS = [0.1, 0.45, 0.8];
const sources = Float32Array.from({ length: 3 * D }, (_, i) => LEVELS[Math.floor(i / D)]);
// True masks: image i covers its first 10·(i + 1) pixels.
const trueMasks = Float32Array.from(
  { length: 3 * D },
  (_, i) => (i % D) < 10 * (Math.floor(i / D) + 1) ? 1 : 0,
);

Deno.test("an oracle completer scores the PSNR cap, SSIM 1 and IoU 1", async () => {
  const scores = await completionScores({
    count: 3,
    shape: SHAPE,
    sources,
    completed: sources.slice(),
    masks: trueMasks.slice(),
    trueMasks,
  });
  assert.equal(scores.psnr, PSNR_CAP);
  close(scores.ssim, 1);
  assert.equal(scores.maskIoU, 1);
  assert.equal(scores.labelAccuracy, null);
});

Deno.test("a constant completer scores the closed forms", async () => {
  const c = 0.3;
  const scores = await completionScores({
    count: 3,
    shape: SHAPE,
    sources,
    completed: new Float32Array(3 * D).fill(c),
    masks: new Float32Array(3 * D).fill(1),
    trueMasks,
  });
  const f32 = (v: number) => Math.fround(v);
  const mean = (f: (a: number, i: number) => number) =>
    LEVELS.reduce((s, a, i) => s + f(f32(a), i), 0) / LEVELS.length;
  // PSNR = 10 log10(1 / (a − c)²); SSIM of two constants a, c (no variance, no covariance):
  // (2ac + C1) / (a² + c² + C1); IoU of an all-ones mask = |T| / (H·W).
  close(scores.psnr, mean((a) => 10 * Math.log10(1 / (a - f32(c)) ** 2)), 1e-6);
  const c1 = 0.01 ** 2;
  close(scores.ssim, mean((a) => (2 * a * f32(c) + c1) / (a * a + f32(c) ** 2 + c1)), 1e-6);
  close(scores.maskIoU, mean((_, i) => (10 * (i + 1)) / D));
});

Deno.test("label accuracy: the LeNet's accuracy on the completions against the sources' labels", async () => {
  const mnist = await loadMnist();
  const n = 60;
  const bytes = mnist.test.images.subarray(0, n * 784);
  const images = Float32Array.from(bytes, (v) => v / 255);
  const labels = mnist.test.labels.subarray(0, n);
  const shape = { height: 28, width: 28, channels: 1 };
  const lenet = loadLenet();
  const oracle = await completionScores({
    count: n,
    shape,
    sources: images,
    completed: images,
    masks: new Float32Array(n * 784),
    trueMasks: new Float32Array(n * 784),
    labels,
  }, lenet);
  assert.equal(oracle.labelAccuracy, await classifierAccuracy(lenet, bytes, labels, n));
  // Blank completions are all read as one digit: the accuracy is that digit's share of the labels.
  const blank = await completionScores({
    count: n,
    shape,
    sources: images,
    completed: new Float32Array(n * 784),
    masks: new Float32Array(n * 784),
    trueMasks: new Float32Array(n * 784),
    labels,
  }, lenet);
  const shares = Array.from({ length: 10 }, (_, d) => labels.filter((y) => y === d).length / n);
  assert.ok(shares.includes(blank.labelAccuracy!), `${blank.labelAccuracy}`);
});
