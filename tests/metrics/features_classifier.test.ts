import assert from "node:assert/strict";
// The union package registers the gradients (for the custom convolution gradient check).
import "@tensorflow/tfjs";
import { selectBackend } from "../../core/backend.ts";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import {
  bytesToGrey,
  classifierAccuracy,
  extractFeatures,
  Lenet,
  LENET_ARCH,
  LENET_SHA256,
  type LenetWeightsFile,
  loadExtractor,
  loadLenet,
  loadLenetFile,
  weightsSha256,
} from "../../metrics/features/classifier.ts";
import committed from "../../metrics/features/lenet-mnist.weights.json" with { type: "json" };
import { fid, gaussianStats, traceSqrtProduct } from "../../metrics/features/fid.ts";
import { featureMetrics } from "../../metrics/features/evaluate.ts";

await selectBackend("cpu");
const data = await loadMnist();
// The grey test set is checked whole (~15 s of CPU time); the static binarization, which the
// classifier also trained on, on its first 2,000 images (the harder part of the test set).
const BINARY_COUNT = 2000;

Deno.test("classifier: the committed weights match their sha256 and score ≥ 99% on MNIST test", async () => {
  const lenet = loadLenet();
  assert.equal(lenet.sha256, LENET_SHA256);
  assert.equal(weightsSha256(committed), LENET_SHA256);
  assert.equal(lenet.featureDim, 84);
  assert.equal(lenet.net!.paramCount(), 62_558);
  const start = performance.now();
  const { images, labels, count } = data.test;
  const accuracy = await classifierAccuracy(lenet, images, labels, count);
  const binary = await classifierAccuracy(lenet, data.testBinary, labels, BINARY_COUNT, true);
  console.log(
    `lenet sha256 ${lenet.sha256}: test accuracy ${(100 * accuracy).toFixed(2)}% ` +
      `(${data.test.count} images), ${(100 * binary).toFixed(2)}% on the first ${BINARY_COUNT} ` +
      `binarized (${((performance.now() - start) / 1000).toFixed(1)} s for both)`,
  );
  assert.ok(accuracy >= 0.99, `accuracy ${accuracy}`);
  assert.ok(binary >= 0.975, `binarized accuracy ${binary}`);
  lenet.net!.dispose();
});

Deno.test("classifier: the hash ignores whitespace but not a changed weight", () => {
  const file = structuredClone(committed) as unknown as LenetWeightsFile;
  assert.equal(weightsSha256(JSON.parse(JSON.stringify(file, null, 4))), LENET_SHA256);
  const bytes = atob(file.data);
  // Flip one character of the base64 data: one weight changes.
  file.data = btoa((bytes[0] === "A" ? "B" : "A") + bytes.slice(1));
  assert.notEqual(weightsSha256(file), LENET_SHA256);
});

Deno.test("classifier: a user's weights file loads, round-trips, and records its own hash", async () => {
  const net = Lenet.init({ ...LENET_ARCH, conv1: 4, dense2: 32 }, Stream.derive(1, "user-net"));
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const file = await net.toFile({ note: "test" });
    await Deno.writeTextFile(path, JSON.stringify(file, null, 2));
    const user = await loadExtractor(path);
    assert.equal(user.featureDim, 32);
    assert.equal(user.sha256, weightsSha256(file));
    assert.notEqual(user.sha256, LENET_SHA256);
    const x = bytesToGrey(data.test.images.subarray(0, 4 * 784));
    const mine = await extractFeatures({ ...user, net }, x, 4);
    const loaded = await extractFeatures(user, x, 4);
    assert.deepEqual(loaded.features, mine.features);
    user.net!.dispose();
    await Deno.writeTextFile(path, JSON.stringify({ ...file, data: file.data.slice(8) }));
    await assert.rejects(() => loadLenetFile(path), /bytes of data, expected/);
    await Deno.writeTextFile(path, JSON.stringify({ ...file, arch: { ...file.arch, conv2: 0 } }));
    await assert.rejects(() => loadLenetFile(path), /"arch.conv2" must be a positive integer/);
    await Deno.writeTextFile(path, "{");
    await assert.rejects(() => loadLenetFile(path), UsageError);
  } finally {
    net.dispose();
    await Deno.remove(path);
  }
  await assert.rejects(() => loadExtractor("/no/such/file.json"), /cannot read/);
  await assert.rejects(() => loadExtractor("lenet", 12, 12), /takes 28×28 images, not 12×12/);
  const pixels = await loadExtractor("pixels", 12, 12);
  assert.equal(pixels.featureDim, 144);
  assert.equal(pixels.classes, 0);
});

Deno.test("feature extraction and FID do not depend on the batch size", async () => {
  const lenet = loadLenet();
  const x = bytesToGrey(data.test.images.subarray(0, 300 * 784));
  const y = bytesToGrey(data.test.images.subarray(300 * 784, 600 * 784));
  const big = await extractFeatures(lenet, x, 300, 300);
  const small = await extractFeatures(lenet, x, 300, 7);
  const maxDiff = big.features.reduce((m, v, i) => Math.max(m, Math.abs(v - small.features[i])), 0);
  assert.ok(maxDiff <= 1e-5, `features differ by ${maxDiff}`);
  const reference = await extractFeatures(lenet, y, 300);
  const a = fid(big, reference);
  const b = fid(small, reference);
  assert.ok(Math.abs(a - b) <= 1e-6 * a, `${a} vs ${b}`);
  // FD(X, X) = 0 without the clipping at 0: the trace term equals tr Σ to rounding, although
  // the LeNet features' covariance has near-zero eigenvalues (dead ReLUs).
  const stats = gaussianStats(big);
  let trace = 0;
  for (let j = 0; j < stats.dim; j++) trace += stats.cov[j * stats.dim + j];
  const raw = 2 * trace - 2 * traceSqrtProduct(stats.cov, stats.cov, stats.dim);
  assert.ok(Math.abs(raw) <= 1e-9, `unclipped FD(X, X) = ${raw} on LeNet features`);
  assert.ok(fid(big, big) <= 1e-9);
  lenet.net!.dispose();
});

Deno.test("featureMetrics: real test images against other test images, and a collapsed set", async () => {
  const lenet = loadLenet();
  const d = 784;
  const n = 400;
  const samples = bytesToGrey(data.test.images.subarray(0, n * d));
  const reference = bytesToGrey(data.test.images.subarray(n * d, 2 * n * d));
  const train = bytesToGrey(data.train.images.subarray(0, 2000 * d));
  const options = { kidSubsets: 10, kidSubsetSize: 100, nnCount: 100 };
  const real = await featureMetrics(
    lenet,
    {
      samples,
      sampleCount: n,
      reference,
      referenceCount: n,
      train,
      trainCount: 2000,
      labels: data.test.labels.subarray(0, n),
    },
    Stream.derive(1, "feature-metrics"),
    options,
  );
  assert.equal(real.extractor.sha256, LENET_SHA256);
  assert.deepEqual(real.skipped, []);
  const value = (name: string) => real.metrics[name].value;
  console.log(
    JSON.stringify(Object.fromEntries(Object.keys(real.metrics).map((k) => [k, value(k)]))),
  );
  assert.ok(value("precision") > 0.8 && value("recall") > 0.8);
  assert.ok(value("class_entropy") > Math.log(10) - 0.05);
  assert.ok(value("label_accuracy") >= 0.97);
  assert.ok(value("is_score") > 5);
  assert.ok(value("nn_train_ratio") > 0.8 && value("nn_train_ratio") < 1.25);
  assert.ok(Math.abs(value("kid")) < 3 * value("kid_std") + 1e-3);
  // Only the digit 1: worse on every count, and too few for FID when there are 50.
  const ones = [...data.test.labels.keys()].filter((i) => data.test.labels[i] === 1).slice(0, 50);
  const collapsed = new Float32Array(ones.length * d);
  ones.forEach((row, i) =>
    collapsed.set(bytesToGrey(data.test.images.subarray(row * d, (row + 1) * d)), i * d)
  );
  const bad = await featureMetrics(
    lenet,
    {
      samples: collapsed,
      sampleCount: ones.length,
      reference,
      referenceCount: n,
    },
    Stream.derive(1, "feature-metrics"),
    { ...options, kidSubsetSize: 50 },
  );
  assert.match(bad.skipped.join("\n"), /^fid: FID: 50 samples cannot give a full-rank covariance/);
  assert.equal(bad.metrics.fid, undefined);
  assert.ok(bad.metrics.kid.value > 10 * Math.abs(value("kid")));
  assert.ok(bad.metrics.recall.value < 0.3);
  assert.ok(bad.metrics.class_entropy.value < 0.2);
  lenet.net!.dispose();
});
