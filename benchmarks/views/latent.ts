/**
 * Latent-space views of a model with an encoder and a decoder, as PNG images:
 * - `reconstructions.png`: test images (top row) above their reconstructions (decoder mean at
 *   the posterior mean);
 * - `interpolation.png`: decodes of the straight line between the posterior means of two test
 *   images, the two inputs at the ends;
 * - `traversal.png`: one row per most active latent dimension (at most 8, by the variance of
 *   the posterior means over the test images, labelled `z<index>` in the left margin), that
 *   dimension swept over [−range, range] with the others held at a test image's posterior mean
 *   (latent perturbation, as in the β-VAE paper);
 * - `sample_means.png`, when a stream is given: decoder means at prior draws z ~ N(0, I) — the
 *   model's samples without the pixel noise of its Bernoulli decoder;
 * - `manifold.png`, for a 2-D latent only: decodes of a square grid of z over [−range, range]²
 *   (the learned-manifold figure of Kingma & Welling 2014).
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { dimOf, type ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { gridPng } from "./grid.ts";
import { writeFileAtomic } from "../../core/files.ts";
import type { Stream } from "../../core/rng.ts";

/** The files `writeLatentViews` may write into a run's folder. */
export const LATENT_VIEWS = [
  "reconstructions.png",
  "interpolation.png",
  "traversal.png",
  "sample_means.png",
  "manifold.png",
] as const;

/** A model the views can be drawn for. */
export type LatentModel = Pick<GenerativeModel, "encode" | "decode">;

/** What the views show; the defaults suit MNIST. */
export interface LatentViewOptions {
  /** Images in the reconstruction view (default 10). */
  count?: number;
  /** Points along an interpolation or a traversal, and per side of the manifold grid. */
  steps?: number;
  /** Traversals and the manifold grid span z ∈ [−range, range] (default 3). */
  range?: number;
  /** One int32 label per image of `data`, for conditional models. */
  labels?: Int32Array;
  /** Pixel scale of the PNGs (default 2). */
  scale?: number;
  /** Most rows of the traversal: the most active dimensions (default 8). */
  dimensions?: number;
  /**
   * Activity of each latent dimension (e.g. its KL or Cov_x(E_q[z|x]) over the test set) to pick
   * the traversal's rows; default: the variance of the posterior means over `data`.
   */
  activity?: ArrayLike<number>;
  /** Where prior draws come from; with it, `sample_means.png` is written (64 images). */
  prior?: Stream;
}

function requireCodec(model: LatentModel): asserts model is Required<LatentModel> {
  if (!model.encode || !model.decode) {
    throw new Error("latent views need a model with encode and decode");
  }
}

/** Evenly spaced points from a to b inclusive. */
function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
}

async function read(tensor: tf.Tensor): Promise<Float32Array> {
  const values = await tensor.data() as Float32Array;
  tensor.dispose();
  return values;
}

function labelTensor(labels: Int32Array | undefined, rows: number[]): tf.Tensor1D | undefined {
  return labels ? tf.tensor1d(Int32Array.from(rows, (r) => labels[r]), "int32") : undefined;
}

/** Posterior means [n, Z] of the first n images of data. */
function encodeMeans(
  model: Required<LatentModel>,
  data: Float32Array,
  rows: number[],
  dims: number,
  labels?: Int32Array,
): tf.Tensor2D {
  return tf.tidy(() => {
    const flat = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => flat.set(data.subarray(r * dims, (r + 1) * dims), i * dims));
    const x = tf.tensor2d(flat, [rows.length, dims]);
    const { mean, logVar } = model.encode(x, labelTensor(labels, rows));
    logVar?.dispose();
    return mean;
  });
}

/** Inputs above their reconstructions: the flat images of the two rows. */
export async function reconstructionImages(
  model: LatentModel,
  data: Float32Array,
  shape: ImageShape,
  options: LatentViewOptions = {},
): Promise<Float32Array> {
  requireCodec(model);
  const dims = dimOf(shape);
  const count = Math.min(options.count ?? 10, data.length / dims);
  const rows = Array.from({ length: count }, (_, i) => i);
  const mean = encodeMeans(model, data, rows, dims, options.labels);
  const recon = await read(tf.tidy(() => model.decode(mean, labelTensor(options.labels, rows))));
  mean.dispose();
  const out = new Float32Array(2 * count * dims);
  out.set(data.subarray(0, count * dims));
  out.set(recon, count * dims);
  return out;
}

/** Image a, the decodes of `steps` points from z_a to z_b, image b (steps + 2 images). */
export async function interpolationImages(
  model: LatentModel,
  data: Float32Array,
  shape: ImageShape,
  pair: [number, number],
  options: LatentViewOptions = {},
): Promise<Float32Array> {
  requireCodec(model);
  const dims = dimOf(shape);
  const steps = options.steps ?? 10;
  const ends = encodeMeans(model, data, pair, dims, options.labels);
  const decoded = await read(tf.tidy(() => {
    const [za, zb] = tf.split(ends, 2, 0);
    const t = tf.tensor2d(linspace(0, 1, steps), [steps, 1]);
    const z = tf.add(tf.mul(tf.sub(1, t), za), tf.mul(t, zb)) as tf.Tensor2D;
    // A conditional model keeps image a's label along the path.
    const labels = labelTensor(options.labels, new Array(steps).fill(pair[0]));
    return model.decode(z, labels);
  }));
  ends.dispose();
  const out = new Float32Array((steps + 2) * dims);
  out.set(data.subarray(pair[0] * dims, (pair[0] + 1) * dims));
  out.set(decoded, dims);
  out.set(data.subarray(pair[1] * dims, (pair[1] + 1) * dims), (steps + 1) * dims);
  return out;
}

/** Variance over the images of `data` of each posterior-mean coordinate (the activity). */
export async function posteriorMeanVariance(
  model: LatentModel,
  data: Float32Array,
  shape: ImageShape,
  labels?: Int32Array,
): Promise<Float64Array> {
  requireCodec(model);
  const dims = dimOf(shape);
  const count = data.length / dims;
  const means = await read(
    encodeMeans(model, data, Array.from({ length: count }, (_, i) => i), dims, labels),
  );
  const latent = means.length / count;
  const variance = new Float64Array(latent);
  for (let j = 0; j < latent; j++) {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < count; i++) {
      const v = means[i * latent + j];
      sum += v;
      squares += v * v;
    }
    const mean = sum / count;
    variance[j] = Math.max(0, squares / count - mean * mean);
  }
  return variance;
}

/** Indices of the `limit` largest activities, largest first (ties by index). */
export function mostActive(activity: ArrayLike<number>, limit: number): number[] {
  return Array.from({ length: activity.length }, (_, j) => j)
    .sort((a, b) => activity[b] - activity[a] || a - b)
    .slice(0, limit);
}

/**
 * Latent traversal around image `row`: one row of `steps` decodes per most active dimension
 * (at most `options.dimensions`, default 8), row i sweeping z_{dims[i]}.
 */
export async function traversalImages(
  model: LatentModel,
  data: Float32Array,
  shape: ImageShape,
  row: number,
  options: LatentViewOptions = {},
): Promise<{ images: Float32Array; latent: number; dims: number[] }> {
  requireCodec(model);
  const size = dimOf(shape);
  const steps = options.steps ?? 10;
  const range = options.range ?? 3;
  const base = encodeMeans(model, data, [row], size, options.labels);
  const center = await read(base);
  const latent = center.length;
  const activity = options.activity ??
    await posteriorMeanVariance(model, data, shape, options.labels);
  const dims = mostActive(activity, Math.min(latent, options.dimensions ?? 8));
  const codes = new Float32Array(dims.length * steps * latent);
  const values = linspace(-range, range, steps);
  dims.forEach((j, r) => {
    for (let s = 0; s < steps; s++) {
      const offset = (r * steps + s) * latent;
      codes.set(center, offset);
      codes[offset + j] = values[s];
    }
  });
  const images = await read(tf.tidy(() => {
    const z = tf.tensor2d(codes, [dims.length * steps, latent]);
    return model.decode(z, labelTensor(options.labels, new Array(dims.length * steps).fill(row)));
  }));
  return { images, latent, dims };
}

/**
 * Decoder means at `count` prior draws z ~ N(0, I) (drawn from `stream`, row by row), for a
 * conditional model with the labels given (cycled).
 */
export async function priorMeanImages(
  model: Pick<GenerativeModel, "decode">,
  latent: number,
  count: number,
  stream: Stream,
  labels?: Int32Array,
): Promise<Float32Array> {
  if (!model.decode) throw new Error("prior means need a model with decode");
  const codes = Float32Array.from({ length: count * latent }, () => stream.normal());
  return await read(tf.tidy(() =>
    model.decode!(
      tf.tensor2d(codes, [count, latent]),
      labels?.length
        ? tf.tensor1d(
          Int32Array.from({ length: count }, (_, i) => labels[i % labels.length]),
          "int32",
        )
        : undefined,
    )
  ));
}

/** Decodes of the grid z ∈ [−range, range]² (steps × steps, z₂ decreasing down the rows). */
export async function manifoldImages(
  model: Pick<GenerativeModel, "decode">,
  options: LatentViewOptions = {},
): Promise<Float32Array> {
  if (!model.decode) throw new Error("the manifold view needs a model with decode");
  const steps = options.steps ?? 15;
  const range = options.range ?? 3;
  const values = linspace(-range, range, steps);
  const codes = new Float32Array(steps * steps * 2);
  for (let r = 0; r < steps; r++) {
    for (let c = 0; c < steps; c++) {
      codes[(r * steps + c) * 2] = values[c];
      codes[(r * steps + c) * 2 + 1] = values[steps - 1 - r];
    }
  }
  return await read(tf.tidy(() => model.decode!(tf.tensor2d(codes, [steps * steps, 2]))));
}

/**
 * Write the latent views of `model` for the test images `data` ([N, D], model input units)
 * into `dir`; returns the file names written. The interpolation runs between the first two
 * images of different labels (or the first two images), the traversal around the first image.
 */
export async function writeLatentViews(
  model: LatentModel,
  dir: string,
  data: Float32Array,
  shape: ImageShape,
  options: LatentViewOptions = {},
): Promise<string[]> {
  const scale = options.scale ?? 2;
  const steps = options.steps ?? 10;
  const written: string[] = [];
  const save = async (name: string, png: Uint8Array) => {
    // Atomic like every other file of a run folder: an interrupted run leaves no half a PNG.
    await writeFileAtomic(join(dir, name), png);
    written.push(name);
  };
  const recon = await reconstructionImages(model, data, shape, options);
  await save("reconstructions.png", gridPng(recon, shape, recon.length / 2 / dimOf(shape), scale));
  const dims = dimOf(shape);
  const count = data.length / dims;
  let second = Math.min(1, count - 1);
  if (options.labels) {
    const other = options.labels.findIndex((label) => label !== options.labels![0]);
    if (other > 0) second = other;
  }
  const line = await interpolationImages(model, data, shape, [0, second], options);
  await save("interpolation.png", gridPng(line, shape, steps + 2, scale));
  const traversal = await traversalImages(model, data, shape, 0, options);
  await save(
    "traversal.png",
    gridPng(traversal.images, shape, steps, scale, traversal.dims.map((j) => `z${j}`)),
  );
  if (options.prior) {
    const means = await priorMeanImages(model, traversal.latent, 64, options.prior, options.labels);
    await save("sample_means.png", gridPng(means, shape, 8, scale));
  }
  if (traversal.latent === 2 && !options.labels) {
    const grid = await manifoldImages(model, { ...options, steps: options.steps ?? 15 });
    await save("manifold.png", gridPng(grid, shape, options.steps ?? 15, scale));
  }
  return written;
}
