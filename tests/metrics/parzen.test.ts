import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import {
  DEFAULT_SIGMAS,
  parzenImages,
  parzenLogDensities,
  parzenLogLikelihood,
  parzenMetrics,
  realParzenSamples,
  selectSigma,
} from "../../metrics/parzen.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { loadMnist } from "../../datasets/mnist.ts";

const mnist = await loadMnist();

Deno.test("Parzen log-density equals the direct mixture density on a tiny case", () => {
  const samples = { values: [0.1, 0.2, 0.9, 0.4, 0.5, 0.5], count: 3 };
  const images = { values: [0.0, 0.0, 0.7, 0.6], count: 2 };
  const sigmas = [0.15, 0.5];
  const got = parzenLogDensities(samples, images, 2, sigmas);
  sigmas.forEach((sigma, s) => {
    for (let j = 0; j < 2; j++) {
      // (1/n) Σ_i Π_d N(x_d; s_id, σ²), multiplied out directly.
      let density = 0;
      for (let i = 0; i < 3; i++) {
        let product = 1;
        for (let d = 0; d < 2; d++) {
          const diff = images.values[2 * j + d] - samples.values[2 * i + d];
          product *= Math.exp(-diff * diff / (2 * sigma * sigma)) / Math.sqrt(2 * Math.PI) / sigma;
        }
        density += product / 3;
      }
      assert.ok(Math.abs(got[s][j] - Math.log(density)) < 1e-12, `σ=${sigma} image ${j}`);
    }
  });
});

Deno.test("Parzen stays finite far from every sample (log-sum-exp)", () => {
  const [[value]] = parzenLogDensities({ values: [0], count: 1 }, { values: [100], count: 1 }, 1, [
    0.01,
  ]);
  // log N(100; 0, 0.01²) = −100²/(2·0.0001) − ½ log(2π·0.0001)
  const exact = -1e4 / 2e-4 - 0.5 * Math.log(2 * Math.PI * 1e-4);
  assert.ok(Math.abs(value - exact) / Math.abs(exact) < 1e-12);
});

Deno.test("σ selection picks the known maximiser σ² = r²/D", () => {
  // One sample at the origin; validation points all at distance r in D = 2 dimensions:
  // log p = −r²/2σ² − log(2πσ²) is largest at σ = r/√2 = 0.3.
  const r = 0.3 * Math.SQRT2;
  const angles = [0, 1, 2, 3, 4];
  const validation = {
    values: angles.flatMap((a) => [r * Math.cos(a), r * Math.sin(a)]),
    count: angles.length,
  };
  const { sigma, scores } = selectSigma({ values: [0, 0], count: 1 }, validation, 2, [
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
  ]);
  assert.equal(sigma, 0.3);
  assert.equal(scores.length, 5);
  assert.equal(DEFAULT_SIGMAS.length, 10);
  assert.ok(Math.abs(DEFAULT_SIGMAS[0] - 0.1) < 1e-12 && Math.abs(DEFAULT_SIGMAS[9] - 1) < 1e-12);
});

Deno.test("Parzen approaches the true log-likelihood of a Gaussian as samples grow", () => {
  // x ~ N(μ, diag(s²)) in 2-D; the true mean log-density of the test points is known exactly.
  const mu = [0.4, 0.6];
  const sd = [0.1, 0.05];
  const draw = (noise: Stream, n: number) => ({
    values: Array.from({ length: n * 2 }, (_, i) => mu[i % 2] + sd[i % 2] * noise.normal()),
    count: n,
  });
  const valid = draw(Stream.derive(3, "valid"), 500);
  const test = draw(Stream.derive(3, "test"), 500);
  let truth = 0;
  for (let j = 0; j < test.count; j++) {
    for (let d = 0; d < 2; d++) {
      const u = (test.values[2 * j + d] - mu[d]) / sd[d];
      truth += -0.5 * u * u - Math.log(sd[d]) - 0.5 * Math.log(2 * Math.PI);
    }
  }
  truth /= test.count;
  const sigmas = Array.from({ length: 25 }, (_, i) => Math.pow(10, -3 + i / 12));
  const gaps: number[] = [];
  for (const n of [30, 300, 3000]) {
    const result = parzenLogLikelihood(
      draw(Stream.derive(3, `samples${n}`), n),
      valid,
      test,
      2,
      sigmas,
    );
    gaps.push(truth - result.logLikelihood);
    console.log(
      `n = ${n}: Parzen ${result.logLikelihood.toFixed(4)} ± ${result.standardError.toFixed(4)} ` +
        `(σ = ${result.sigma.toFixed(4)}), true ${truth.toFixed(4)}`,
    );
  }
  assert.ok(gaps[0] > gaps[1] && gaps[1] > gaps[2], `gaps shrink: ${gaps}`);
  assert.ok(Math.abs(gaps[2]) < 0.05, `within 0.05 nats at n = 3000 (gap ${gaps[2]})`);
});

Deno.test("parzenMetrics records the protocol: samples, test images, subset seed, σ, reference", () => {
  const dataset = syntheticDataset();
  const images = parzenImages(dataset, 50);
  assert.equal(images.validation.count, 50);
  assert.equal(images.test.count, 50);
  const samples = realParzenSamples(dataset, 40);
  const result = parzenLogLikelihood(samples, images.validation, images.test, 144, [0.2, 0.3]);
  const metrics = parzenMetrics(result, images.testSubset);
  assert.deepEqual(
    { ...metrics.parzen_ll, value: 0 },
    {
      value: 0,
      unit: "nats",
      better: "higher",
      kind: "parzen",
      samples: 40,
      n: 50,
      subset_seed: 1,
      sigma: result.sigma,
      reference: "test-grey",
    },
  );
  assert.equal(metrics.parzen_ll.value, result.logLikelihood);
  assert.equal(metrics.parzen_sigma.value, result.sigma);
  // The full test set carries no subset seed.
  const all = parzenImages(dataset, 10_000);
  assert.equal(all.test.count, dataset.test.count);
  assert.equal(parzenMetrics(result, all.testSubset).parzen_ll.subset_seed, undefined);
});

Deno.test("parzenImages: seeded subsets of validation and test, grey, the same every call", () => {
  const dataset = syntheticDataset();
  const a = parzenImages(dataset, 30);
  const b = parzenImages(dataset, 30);
  assert.deepEqual(a.test.values, b.test.values);
  assert.deepEqual(a.validation.values, b.validation.values);
  const rows = Array.from(a.testSubset.rows);
  assert.notDeepEqual(rows, Array.from({ length: 30 }, (_, i) => i), "not the first 30");
  const dim = 144;
  const first = rows[0];
  for (let d = 0; d < dim; d++) {
    assert.equal(a.test.values[d], Math.fround(dataset.test.images[first * dim + d] / 255));
  }
});

Deno.test("real MNIST training images as Parzen samples: the ceiling at 1,000 samples is far below 225", () => {
  // The point: at the quick suite's 1,000 samples the real-data row scores ~116 nats,
  // so a quick-suite Parzen number is not on the scale of the literature's 225 (10,000 samples).
  const images = parzenImages(mnist, 1_000);
  const real = parzenLogLikelihood(
    realParzenSamples(mnist, 1_000),
    images.validation,
    images.test,
    784,
  );
  console.log(
    `real MNIST, 1,000 samples: Parzen ${real.logLikelihood.toFixed(1)} nats (σ ${real.sigma})`,
  );
  assert.ok(real.logLikelihood > 50 && real.logLikelihood < 180, `${real.logLikelihood}`);
});
