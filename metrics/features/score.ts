/**
 * `deno task score A B`: the feature-based metrics between any two image sets, like
 * pytorch-fid's command line. A is scored against B (B plays the real/test images: FID, KID,
 * precision = A inside B's manifold, recall = B inside A's; the IS-style score and class
 * entropy are A's). Each set is an IDX images file (plain or .gz, N×H×W or N×H×W×1), a folder
 * holding `samples.idx` (or `.idx.gz`), or a folder of PNG files (one image each, grey or RGB,
 * which is averaged to grey).
 *
 *   deno task score A B [--features lenet|pixels|PATH] [--json] [--seed 1] [--backend cpu]
 *       [--kid-subsets 100] [--kid-subset-size 1000] [--k 3] [--splits 10] [--pr-count 10000]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { decode } from "fast-png";
import { UsageError } from "../../core/errors.ts";
import { type BackendName, selectBackend } from "../../core/backend.ts";
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

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      features: { type: "string", default: "lenet" },
      json: { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      backend: { type: "string", default: "cpu" },
      "kid-subsets": { type: "string" },
      "kid-subset-size": { type: "string" },
      k: { type: "string" },
      splits: { type: "string" },
      "pr-count": { type: "string" },
    },
  });
  if (positionals.length !== 2) {
    throw new UsageError("score: expected two image sets, A and B (IDX file, folder of PNGs)");
  }
  const number = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      throw new UsageError(`--${flag}: expected a non-negative integer, got "${text}"`);
    }
    return value;
  };
  await selectBackend(values.backend as BackendName);
  const [a, b] = await Promise.all(positionals.map(readImageSet));
  const result = await scoreSets(a, b, {
    features: values.features,
    seed: number("seed", values.seed),
    kidSubsets: number("kid-subsets", values["kid-subsets"]),
    kidSubsetSize: number("kid-subset-size", values["kid-subset-size"]),
    k: number("k", values.k),
    splits: number("splits", values.splits),
    prCount: number("pr-count", values["pr-count"]),
  });
  if (values.json) {
    console.log(JSON.stringify({ a: a.source, b: b.source, ...result }, null, 2));
    return;
  }
  console.log(`A: ${a.source} (${a.count} images)  B: ${b.source} (${b.count} images)`);
  console.log(`features: ${result.extractor.name} sha256 ${result.extractor.sha256}`);
  for (const [name, metric] of Object.entries(result.metrics)) {
    console.log(`${name.padEnd(16)} ${metric.value.toPrecision(6).padStart(12)}  ${metric.unit}`);
  }
  for (const line of result.skipped) console.log(`skipped ${line}`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`genbench score: ${error.message}`);
    Deno.exit(2);
  }
}
