/**
 * Latent-space views of generator models as PNG grids: interpolation strips (every row walks
 * from one prior draw to another along the great circle, "slerp" — White 2016 — so that
 * intermediate codes keep the norm typical of N(0, I) in many dimensions), for class-conditional
 * models one row per prior draw across every class, and for InfoGAN one grid per code (Chen et
 * al. 2016, fig. 2): the categorical code across columns, and each continuous code swept from
 * −2 to 2 (beyond its training range U(−1, 1), as in the paper) with the others at 0.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { type CodeDecoder, hasCodes } from "../../models/adversarial/infogan.ts";
import { gridPng } from "./grid.ts";

/** The files the generator views may write into a run's folder (`<j>`: 1, 2, …). */
export const GENERATOR_VIEWS = [
  "interpolation.png",
  "classes.png",
  "codes_categorical.png",
  "codes_continuous_<j>.png",
] as const;

/** Layout of the views. */
export interface ViewOptions {
  /** Rows of each grid. */
  rows: number;
  /** Images per interpolation strip (and per continuous-code sweep). */
  steps: number;
  /** Number of classes of a class-conditional model (0: unconditional). */
  classes: number;
}

const DEFAULT_VIEWS: ViewOptions = { rows: 8, steps: 10, classes: 0 };

/** Spherical interpolation between a and b at t ∈ [0, 1] (linear when they are parallel). */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb || 1))));
  const out = new Float32Array(a.length);
  const s = Math.sin(omega);
  const [wa, wb] = s < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / s, Math.sin(t * omega) / s];
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
  return out;
}

/** Reads images [n, D] and frees the tensor. */
async function read(images: tf.Tensor2D): Promise<Float32Array> {
  const values = (await images.data()) as Float32Array;
  images.dispose();
  return values;
}

/**
 * The views a generator model offers, as `{file name: PNG bytes}`: `interpolation.png` for every
 * model with a `generator`; `classes.png` for class-conditional ones (`options.classes` > 0);
 * `codes_categorical.png` and `codes_continuous_<j>.png` for InfoGAN. Models without a generator
 * give none. Every random draw comes from `noise`.
 */
export async function ganViews(
  model: GenerativeModel,
  shape: ImageShape,
  noise: Stream,
  options: Partial<ViewOptions> = {},
): Promise<Record<string, Uint8Array>> {
  const { rows, steps, classes } = { ...DEFAULT_VIEWS, ...options };
  const views: Record<string, Uint8Array> = {};
  if (!model.generator) return views;
  const decoder = model.generator(noise);
  try {
    const latent = decoder.latent;
    // Interpolation strips; a conditional model keeps one class per row (row r: class r mod K).
    const codes = new Float32Array(rows * steps * latent);
    for (let r = 0; r < rows; r++) {
      const a = noise.normalArray(latent);
      const b = noise.normalArray(latent);
      for (let s = 0; s < steps; s++) {
        codes.set(slerp(a, b, steps === 1 ? 0 : s / (steps - 1)), (r * steps + s) * latent);
      }
    }
    const count = rows * steps;
    const z = tf.tensor2d(codes, [count, latent]);
    const perRow = classes > 0 ? classes : hasCodes(model) ? model.categories : 0;
    const labels = perRow > 0
      ? tf.tensor1d(
        Int32Array.from({ length: count }, (_, i) => Math.floor(i / steps) % perRow),
        "int32",
      )
      : undefined;
    views["interpolation.png"] = gridPng(await read(decoder.decode(z, labels)), shape, steps);
    tf.dispose([z, ...(labels ? [labels] : [])]);
    if (classes > 0) {
      // One prior draw per row, every class across the columns.
      const draws = Array.from({ length: rows }, () => noise.normalArray(latent));
      const grid = new Float32Array(rows * classes * latent);
      draws.forEach((d, r) => {
        for (let c = 0; c < classes; c++) grid.set(d, (r * classes + c) * latent);
      });
      const zc = tf.tensor2d(grid, [rows * classes, latent]);
      const yc = tf.tensor1d(
        Int32Array.from({ length: rows * classes }, (_, i) => i % classes),
        "int32",
      );
      views["classes.png"] = gridPng(await read(decoder.decode(zc, yc)), shape, classes);
      tf.dispose([zc, yc]);
    }
  } finally {
    decoder.dispose();
  }
  if (hasCodes(model)) Object.assign(views, await codeViews(model, shape, noise, rows, steps));
  return views;
}

/** InfoGAN's code grids. */
async function codeViews(
  model: { codeDecoder(noise: Stream): CodeDecoder },
  shape: ImageShape,
  noise: Stream,
  rows: number,
  steps: number,
): Promise<Record<string, Uint8Array>> {
  const views: Record<string, Uint8Array> = {};
  const codes = model.codeDecoder(noise);
  const { categories, continuous } = codes;
  try {
    // Categorical: one noise draw per row, every category across, continuous codes at 0.
    const draws = Array.from({ length: rows }, () => noise.normalArray(codes.noise));
    const n = rows * categories;
    const z = new Float32Array(n * codes.noise);
    draws.forEach((d, r) => {
      for (let c = 0; c < categories; c++) z.set(d, (r * categories + c) * codes.noise);
    });
    const zt = tf.tensor2d(z, [n, codes.noise]);
    const cat = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % categories), "int32");
    const zero = tf.zeros([n, continuous]) as tf.Tensor2D;
    views["codes_categorical.png"] = gridPng(
      await read(codes.decode(zt, cat, zero)),
      shape,
      categories,
    );
    tf.dispose([zt, cat, zero]);
    // Continuous code j: one category per row (with one noise draw each), c_j from −2 to 2.
    for (let j = 0; j < continuous; j++) {
      const m = categories * steps;
      const zs = new Float32Array(m * codes.noise);
      const cont = new Float32Array(m * continuous);
      for (let r = 0; r < categories; r++) {
        const d = noise.normalArray(codes.noise);
        for (let s = 0; s < steps; s++) {
          zs.set(d, (r * steps + s) * codes.noise);
          cont[(r * steps + s) * continuous + j] = steps === 1 ? 0 : -2 + (4 * s) / (steps - 1);
        }
      }
      const zt2 = tf.tensor2d(zs, [m, codes.noise]);
      const cat2 = tf.tensor1d(
        Int32Array.from({ length: m }, (_, i) => Math.floor(i / steps)),
        "int32",
      );
      const ct = tf.tensor2d(cont, [m, continuous]);
      views[`codes_continuous_${j + 1}.png`] = gridPng(
        await read(codes.decode(zt2, cat2, ct)),
        shape,
        steps,
      );
      tf.dispose([zt2, cat2, ct]);
    }
  } finally {
    codes.dispose();
  }
  return views;
}
