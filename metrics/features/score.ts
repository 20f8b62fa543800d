/**
 * The feature-based metrics between any two image sets (the `score` command, cli/score.ts, like
 * pytorch-fid's command line). A is scored against B (B plays the real/test images: FID, KID,
 * precision = A inside B's manifold, recall = B inside A's; the IS-style score and class
 * entropy are A's). Each set is an IDX images file (plain or .gz, N×H×W or N×H×W×1), a folder
 * holding `samples.idx` (or `.idx.gz`), or a folder of PNG files (one image each, grey or RGB,
 * which is averaged to grey).
 */
import { join } from "node:path";
import { decode } from "fast-png";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import { maybeGunzip, parseIdx } from "../../datasets/idx.ts";
import { loadExtractor } from "./classifier.ts";
import { featureMetrics, type FeatureMetricsResult } from "./evaluate.ts";

/** Grey images in [0, 1], row-major [count × height·width]. */
export interface ImageSet {
  count: number;
  height: number;
  width: number;
  pixels: Float32Array;
  source: string;
}

function fromIdx(bytes: Uint8Array, source: string): ImageSet {
  const idx = parseIdx(maybeGunzip(bytes, source), source);
  const [count, height, width, channels = 1] = idx.dims;
  if (idx.dims.length < 3 || channels !== 1) {
    throw new UsageError(
      `${source}: expected N×H×W grey images, found dimensions ${idx.dims.join("×")}`,
    );
  }
  const pixels = new Float32Array(idx.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = idx.data[i] / 255;
  return { count, height, width, pixels, source };
}

function fromPng(
  bytes: Uint8Array,
  source: string,
): { width: number; height: number; grey: Float32Array } {
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new UsageError(`${source}: not a readable PNG (${(error as Error).message})`);
  }
  if (png.palette) throw new UsageError(`${source}: palette PNGs are not supported`);
  const max = 2 ** png.depth - 1;
  const colour = png.channels >= 3 ? 3 : 1;
  const grey = new Float32Array(png.width * png.height);
  for (let p = 0; p < grey.length; p++) {
    let sum = 0;
    for (let c = 0; c < colour; c++) sum += png.data[p * png.channels + c];
    grey[p] = sum / colour / max;
  }
  return { width: png.width, height: png.height, grey };
}

/** Read an image set from an IDX file, a folder with `samples.idx`, or a folder of PNGs. */
export async function readImageSet(path: string): Promise<ImageSet> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  if (info.isFile) return fromIdx(await Deno.readFile(path), path);
  for (const name of ["samples.idx", "samples.idx.gz"]) {
    const file = join(path, name);
    const exists = await Deno.stat(file).then((s) => s.isFile, () => false);
    if (exists) return fromIdx(await Deno.readFile(file), file);
  }
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && /\.png$/i.test(entry.name)) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new UsageError(`${path}: no IDX file, samples.idx or PNG images found`);
  }
  names.sort();
  const images = await Promise.all(
    names.map(async (name) => fromPng(await Deno.readFile(join(path, name)), join(path, name))),
  );
  const { width, height } = images[0];
  const pixels = new Float32Array(images.length * width * height);
  images.forEach((image, i) => {
    if (image.width !== width || image.height !== height) {
      throw new UsageError(
        `${join(path, names[i])}: ${image.width}×${image.height}, but ${
          names[0]
        } is ${width}×${height}`,
      );
    }
    pixels.set(image.grey, i * width * height);
  });
  return { count: images.length, height, width, pixels, source: path };
}

/** Options of {@link scoreSets}. */
export interface ScoreOptions {
  features?: string;
  seed?: number;
  kidSubsets?: number;
  kidSubsetSize?: number;
  k?: number;
  splits?: number;
  /** Rows of each set used for precision/recall (default 10,000: its cost is quadratic). */
  prCount?: number;
}

/** The feature-based metrics of image set `a` against image set `b`. */
export async function scoreSets(
  a: ImageSet,
  b: ImageSet,
  options: ScoreOptions = {},
): Promise<FeatureMetricsResult> {
  if (a.height !== b.height || a.width !== b.width) {
    throw new UsageError(
      `${a.source} holds ${a.height}×${a.width} images but ${b.source} holds ${b.height}×${b.width}`,
    );
  }
  const extractor = await loadExtractor(options.features ?? "lenet", a.height, a.width);
  try {
    return await featureMetrics(
      extractor,
      { samples: a.pixels, sampleCount: a.count, reference: b.pixels, referenceCount: b.count },
      Stream.derive(options.seed ?? 1, "score"),
      {
        kidSubsets: options.kidSubsets,
        kidSubsetSize: options.kidSubsetSize,
        k: options.k,
        isSplits: options.splits,
        prCount: options.prCount ?? 10_000,
      },
    );
  } finally {
    extractor.net?.dispose();
  }
}
