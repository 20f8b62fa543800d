import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { decode } from "fast-png";
import { join } from "node:path";
import { selectBackend } from "../../core/backend.ts";
import { vaeConvSpec } from "../../models/latent/vae_conv.ts";
import { cvaeSpec } from "../../models/latent/cvae.ts";
import {
  interpolationImages,
  reconstructionImages,
  traversalImages,
  writeLatentViews,
} from "../../reports/latent.ts";
import { build, DIMS, SHAPE, testBatch } from "../models/latent/_helpers.ts";

await selectBackend("cpu");

/** Pixel size of a gridPng of `count` 12×12 images, `columns` wide, scale 2. */
function gridSize(count: number, columns: number): [number, number] {
  const rows = Math.ceil(count / columns);
  return [(columns * 13 + 1) * 2, (rows * 13 + 1) * 2];
}

Deno.test("latent views: reconstructions, interpolation, traversal, 2-D manifold as PNGs", async () => {
  const model = build(vaeConvSpec, { latent: 2 });
  const { x } = testBatch(12);
  const data = x.dataSync() as Float32Array;
  const dir = await Deno.makeTempDir();
  const files = await writeLatentViews(model, dir, data, SHAPE, { count: 6, steps: 5 });
  assert.deepEqual(files, [
    "reconstructions.png",
    "interpolation.png",
    "traversal.png",
    "manifold.png",
  ]);
  const expected: Record<string, [number, number]> = {
    "reconstructions.png": gridSize(12, 6),
    "interpolation.png": gridSize(7, 7),
    "traversal.png": gridSize(2 * 5, 5),
    "manifold.png": gridSize(25, 5),
  };
  for (const file of files) {
    const png = decode(await Deno.readFile(join(dir, file)));
    assert.deepEqual([png.width, png.height], expected[file], file);
  }
  await Deno.remove(dir, { recursive: true });

  // The reconstruction row is decode(encode(x).mean); the interpolation starts and ends at
  // the inputs and passes through decode(z_a) and decode(z_b).
  const recon = await reconstructionImages(model, data, SHAPE, { count: 3 });
  const { mean } = model.encode!(tf.tensor2d(data.subarray(0, 3 * DIMS), [3, DIMS]));
  const direct = model.decode!(mean).dataSync();
  for (let i = 0; i < 3 * DIMS; i++) {
    assert.equal(recon[i], data[i]);
    assert.ok(Math.abs(recon[3 * DIMS + i] - direct[i]) < 1e-6);
  }
  const line = await interpolationImages(model, data, SHAPE, [0, 2], { steps: 4 });
  assert.equal(line.length, 6 * DIMS);
  for (let i = 0; i < DIMS; i++) {
    assert.equal(line[i], data[i]);
    assert.equal(line[5 * DIMS + i], data[2 * DIMS + i]);
    assert.ok(Math.abs(line[DIMS + i] - direct[i]) < 1e-6);
    assert.ok(Math.abs(line[4 * DIMS + i] - direct[2 * DIMS + i]) < 1e-6);
  }
  // Traversal: one row per latent dim; row j differs from row j' only through z_j.
  const traversal = await traversalImages(model, data, SHAPE, 0, { steps: 3, range: 2 });
  assert.equal(traversal.latent, 2);
  assert.equal(traversal.images.length, 2 * 3 * DIMS);
  model.dispose();
  x.dispose();
});

Deno.test("latent views of a conditional model keep the image's label; no manifold", async () => {
  const model = build(cvaeSpec);
  const { x, labels } = testBatch(4);
  const dir = await Deno.makeTempDir();
  const files = await writeLatentViews(model, dir, x.dataSync() as Float32Array, SHAPE, {
    count: 4,
    steps: 3,
    labels: labels.dataSync() as Int32Array,
  });
  assert.deepEqual(files, ["reconstructions.png", "interpolation.png", "traversal.png"]);
  const traversal = decode(await Deno.readFile(join(dir, "traversal.png")));
  assert.deepEqual([traversal.width, traversal.height], gridSize(32 * 3, 3));
  await Deno.remove(dir, { recursive: true });
  model.dispose();
});
