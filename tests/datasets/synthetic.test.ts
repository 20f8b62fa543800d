import assert from "node:assert/strict";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { binarize } from "../../datasets/build.ts";
import { Stream } from "../../core/rng.ts";

Deno.test("the synthetic dataset is the same for the same seed and differs for another", () => {
  const a = syntheticDataset();
  const b = syntheticDataset();
  assert.equal(a.fingerprint, b.fingerprint);
  assert.deepEqual(a.testBinary, b.testBinary);
  assert.notEqual(syntheticDataset({ seed: 8 }).fingerprint, a.fingerprint);
  assert.equal(a.train.count + a.valid.count, 600);
  assert.equal(a.test.count, 200);
});

Deno.test("binarization draws Bernoulli(pixel/255)", () => {
  const images = new Uint8Array(200_000).fill(64);
  const bits = binarize(images, Stream.derive(3, "t"));
  const mean = bits.reduce((s, v) => s + v, 0) / bits.length;
  // Standard error of the mean is about 0.001.
  assert.ok(Math.abs(mean - 64 / 255) < 0.005, `mean ${mean}`);
  assert.deepEqual(
    binarize(new Uint8Array([0, 255]), Stream.derive(1, "t")),
    Uint8Array.from([0, 1]),
  );
});
