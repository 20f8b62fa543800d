import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { decode } from "fast-png";
import { join } from "node:path";
import { selectBackend } from "../../../core/backend.ts";
import { vaeConvSpec } from "../../../models/latent/vae_conv.ts";
import { cvaeSpec } from "../../../models/latent/cvae.ts";
import {
  interpolationImages,
  mostActive,
  priorMeanImages,
  reconstructionImages,
  traversalImages,
  writeLatentViews,
} from "../../../benchmarks/views/latent.ts";
import { gridPng } from "../../../benchmarks/views/grid.ts";
import { Stream } from "../../../core/rng.ts";
import { build, DIMS, SHAPE, testBatch } from "../../models/latent/_helpers.ts";

await selectBackend("cpu");

/** Pixel size of a gridPng of `count` 12×12 images, `columns` wide, scale 2. */
function gridSize(count: number, columns: number, margin = 0): [number, number] {
  const rows = Math.ceil(count / columns);
  return [(margin + columns * 13 + 1) * 2, (rows * 13 + 1) * 2];
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
    // Two rows labelled z0, z1 (3×5 glyphs: a margin of 2 glyphs + 1 gap + 2 pixels).
    "traversal.png": gridSize(2 * 5, 5, 9),
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
  assert.deepEqual([...traversal.dims].sort(), [0, 1]);
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
  // 32 latent dimensions, the 8 most active shown, labelled up to three glyphs (z31).
  assert.deepEqual([traversal.width, traversal.height], gridSize(8 * 3, 3, 13));
  await Deno.remove(dir, { recursive: true });
  model.dispose();
});

Deno.test("traversal: only the most active dimensions, each row labelled with its index", async () => {
  // A toy codec on 4×4 images: z_j = w_j · x_0 (so Var_x z_j = w_j² Var x_0), decode(z) puts
  // z_j in pixel j: the traversal's rows must be dims 10, 7, 3 (largest w first), then the rest.
  const latent = 12;
  const weights = Array.from({ length: latent }, (_, j) => ({ 3: 1, 7: 2, 10: 3 })[j] ?? 0.01);
  const model = {
    encode: (x: tf.Tensor2D) => ({
      mean: tf.mul(tf.slice(x, [0, 0], [-1, 1]), tf.tensor2d([weights])) as tf.Tensor2D,
      logVar: tf.zerosLike(tf.slice(x, [0, 0], [-1, latent])) as tf.Tensor2D,
    }),
    decode: (z: tf.Tensor2D) => tf.pad(z, [[0, 0], [0, 4]]) as tf.Tensor2D,
  };
  const shape = { height: 4, width: 4, channels: 1 };
  const data = Float32Array.from({ length: 5 * 16 }, (_, i) => (i % 16 === 0 ? i / 80 : 0));
  assert.deepEqual(mostActive([0.1, 3, 2, 3], 3), [1, 3, 2]);
  const traversal = await traversalImages(model, data, shape, 0, { steps: 3, dimensions: 4 });
  assert.equal(traversal.dims[0], 10);
  assert.deepEqual(traversal.dims.slice(0, 3), [10, 7, 3]);
  assert.equal(traversal.images.length, 4 * 3 * 16);
  // Row 0 sweeps pixel (= latent) 10 from −3 to 3; the other coordinates stay put.
  assert.deepEqual([0, 1, 2].map((s) => traversal.images[s * 16 + 10]), [-3, 0, 3]);
  const dir = await Deno.makeTempDir();
  await writeLatentViews(model, dir, data, shape, { steps: 3, dimensions: 4 });
  const png = decode(await Deno.readFile(join(dir, "traversal.png")));
  await Deno.remove(dir, { recursive: true });
  // Labels z10, z7, z3, z…: a white margin of 3 glyphs (11 px) + 2, with dark glyph pixels.
  const margin = 13 * 2;
  assert.equal(png.width, margin + (3 * 5 + 1) * 2);
  const dark = (row: number) => {
    let count = 0;
    for (let y = row * 5 * 2; y < (row * 5 + 5) * 2; y++) {
      for (let x = 0; x < margin; x++) if (png.data[y * png.width + x] === 0) count++;
    }
    return count;
  };
  // Lit font pixels (×4 at scale 2): z = 8, 1 = 8, 0 = 12, 7 = 7, 3 = 11.
  assert.deepEqual([0, 1, 2].map(dark), [(8 + 8 + 12) * 4, (8 + 7) * 4, (8 + 11) * 4]);
  // Without labels the grid has no margin.
  const plain = decode(gridPng(new Float32Array(16), shape, 1, 1));
  assert.equal(plain.width, 6);
});

Deno.test("sample means: decoder means at prior draws from the given stream, as sample_means.png", async () => {
  // decode(z) = sigmoid(z) per pixel: the view must hold these means, not binary draws.
  const model = {
    encode: (x: tf.Tensor2D) => ({
      mean: tf.slice(x, [0, 0], [-1, 4]) as tf.Tensor2D,
      logVar: tf.zeros([x.shape[0], 4]) as tf.Tensor2D,
    }),
    decode: (z: tf.Tensor2D) => tf.sigmoid(tf.tile(z, [1, 4])) as tf.Tensor2D,
  };
  const shape = { height: 4, width: 4, channels: 1 };
  const means = await priorMeanImages(model, 4, 3, Stream.derive(7, "test"));
  const stream = Stream.derive(7, "test");
  const z = Array.from({ length: 12 }, () => stream.normal());
  for (let i = 0; i < 3; i++) {
    for (let p = 0; p < 16; p++) {
      const expected = 1 / (1 + Math.exp(-z[i * 4 + (p % 4)]));
      assert.ok(Math.abs(means[i * 16 + p] - expected) < 1e-6);
    }
  }
  assert.ok(means.some((v) => v > 0.05 && v < 0.95), "means, not 0/1 draws");
  const dir = await Deno.makeTempDir();
  const data = Float32Array.from({ length: 4 * 16 }, (_, i) => (i % 7) / 7);
  const files = await writeLatentViews(model, dir, data, shape, {
    steps: 3,
    prior: Stream.derive(7, "views"),
  });
  assert.ok(files.includes("sample_means.png"));
  const png = decode(await Deno.readFile(join(dir, "sample_means.png")));
  assert.deepEqual([png.width, png.height], [(8 * 5 + 1) * 2, (8 * 5 + 1) * 2]);
  await Deno.remove(dir, { recursive: true });
});
