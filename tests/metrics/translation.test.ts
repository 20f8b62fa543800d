import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import type { Split } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS, getDomain } from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { classifierAccuracy } from "../../metrics/features/classifier.ts";
import { loadDomainClassifiers } from "../../metrics/domains/classifiers.ts";
import {
  evaluateTranslator,
  meanAbsoluteError,
  PSNR_CAP,
  translationScores,
  type Translator,
} from "../../metrics/translation.ts";

// wasm: the backend the classifiers were trained and measured on (deterministic).
await selectBackend("wasm");
const mnist = await loadMnist();
const classifiers = loadDomainClassifiers();
const N = 300;
const D = 784;
const index = (name: string) => getDomain(name).index;

/** The ground-truth translator: it knows each test digit and applies the target domain. */
function oracle(test: Split): Translator {
  return (_images, count, _from, to, rows) => {
    const out = new Float32Array(count * D);
    for (let i = 0; i < count; i++) {
      const original = test.images.subarray(rows[i] * D, (rows[i] + 1) * D);
      const y = applyDomain(DOMAINS[to], original);
      for (let p = 0; p < D; p++) out[i * D + p] = y[p] / 255;
    }
    return Promise.resolve(out);
  };
}

/** A translator that ignores its input: one fixed image (the first test digit, target domain). */
function constant(test: Split): Translator {
  return (_images, count, _from, to) => {
    const y = applyDomain(DOMAINS[to], test.images.subarray(0, D));
    const out = new Float32Array(count * D);
    for (let i = 0; i < count; i++) for (let p = 0; p < D; p++) out[i * D + p] = y[p] / 255;
    return Promise.resolve(out);
  };
}

Deno.test("translation: the ground-truth translator gets a perfect score", async () => {
  for (const [from, to] of [["original", "inverted"], ["thin", "inverted-rotated"]]) {
    const s = await evaluateTranslator(
      oracle(mnist.test),
      mnist.test,
      index(from),
      index(to),
      classifiers,
      N,
    );
    const what = `${from} → ${to}`;
    assert.equal(s.count, N);
    assert.equal(s.psnr, PSNR_CAP, what);
    assert.ok(Math.abs(s.ssim - 1) < 1e-12, `${what}: SSIM ${s.ssim}`);
    assert.equal(s.cycleL1, 0, what);
    assert.ok(s.fid !== null && Math.abs(s.fid) < 1e-6, `${what}: FID ${s.fid}`);
    // Label preservation is the digit reader's own accuracy on the true targets...
    assert.equal(s.labelPreservation, s.truthLabelAccuracy, what);
    const truth = new Uint8Array(N * D);
    for (let i = 0; i < N; i++) {
      truth.set(
        applyDomain(DOMAINS[index(to)], mnist.test.images.subarray(i * D, (i + 1) * D)),
        i * D,
      );
    }
    const direct = await classifierAccuracy(classifiers.digit, truth, mnist.test.labels, N);
    assert.equal(s.truthLabelAccuracy, direct, what);
    assert.ok(direct > 0.94, `${what}: digit reader ${direct}`);
    // ...and target-domain accuracy the domain namer's on them.
    const domains = new Uint8Array(N).fill(index(to));
    const named = await classifierAccuracy(classifiers.domain, truth, domains, N);
    assert.equal(s.targetDomainAccuracy, named, what);
    assert.ok(named > 0.92, `${what}: domain namer ${named}`);
  }
});

Deno.test("translation: a constant translator gets chance-level label preservation", async () => {
  const from = index("thick");
  const to = index("rotated");
  const s = await evaluateTranslator(constant(mnist.test), mnist.test, from, to, classifiers, N);
  const y = await constant(mnist.test)(new Float32Array(D), 1, from, to, new Uint32Array(1));
  // The digit the reader sees in that one image, found with the reader's own accuracy.
  const bytes = Uint8Array.from(y, (v) => Math.round(v * 255));
  let predicted = -1;
  for (let digit = 0; digit < 10; digit++) {
    if (await classifierAccuracy(classifiers.digit, bytes, [digit], 1) === 1) predicted = digit;
  }
  const share = mnist.test.labels.subarray(0, N).filter((l) => l === predicted).length / N;
  // Exactly the share of the one digit it always shows: about 1 in 10.
  assert.equal(s.labelPreservation, share);
  assert.ok(share > 0.05 && share < 0.2, `share ${share}`);
  assert.ok(s.psnr < 15 && s.ssim < 0.5, `PSNR ${s.psnr}, SSIM ${s.ssim}`);
  assert.ok(s.cycleL1! > 0.05 && s.fid! > 10, `cycle ${s.cycleL1}, FID ${s.fid}`);
});

Deno.test("translation: PSNR and SSIM equal scikit-image's on a fixture", async () => {
  // tests/metrics/fixtures/translation_skimage.json: three 28×28 pairs (bytes) and the values
  // scikit-image gives for them (its "how" field says which calls; not needed to run this).
  const fixture = JSON.parse(
    Deno.readTextFileSync(new URL("./fixtures/translation_skimage.json", import.meta.url)),
  ) as { pairs: { truth: number[]; translated: number[] }[]; psnr: number[]; ssim: number[] };
  const n = fixture.pairs.length;
  const unit = (key: "truth" | "translated") =>
    Float32Array.from(fixture.pairs.flatMap((p) => p[key]), (v) => v / 255);
  const s = await translationScores({
    count: n,
    height: 28,
    width: 28,
    translated: unit("translated"),
    truth: unit("truth"),
    labels: mnist.test.labels.subarray(0, n),
    targetDomain: index("thick"),
  }, classifiers);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(Math.abs(s.psnr - mean(fixture.psnr)) < 1e-5, `${s.psnr} vs ${mean(fixture.psnr)}`);
  assert.ok(Math.abs(s.ssim - mean(fixture.ssim)) < 1e-6, `${s.ssim} vs ${mean(fixture.ssim)}`);
  assert.equal(s.cycleL1, null);
  assert.equal(s.fid, null, "three images are too few for FID");
});

Deno.test("translation: bad input is one clear error", async () => {
  const base = {
    count: 2,
    height: 28,
    width: 28,
    translated: new Float32Array(2 * D),
    truth: new Float32Array(2 * D),
    labels: [1, 2],
    targetDomain: 0,
  };
  await assert.rejects(
    translationScores({ ...base, truth: new Float32Array(D) }, classifiers),
    /translation scores: truth has 784 values, not 2 images of 784/,
  );
  await assert.rejects(
    translationScores({ ...base, targetDomain: DOMAINS.length }, classifiers),
    /target domain 8 is not a class/,
  );
  assert.equal(meanAbsoluteError([0, 1, 0.5], [0.5, 0.5, 0.5]), 1 / 3);
});
