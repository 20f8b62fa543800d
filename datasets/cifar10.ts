/**
 * CIFAR-10 (Krizhevsky 2009), binary version: `data_batch_1.bin` … `data_batch_5.bin` and
 * `test_batch.bin` from a folder the user names (the unpacked `cifar-10-binary.tar.gz`; its
 * `cifar-10-batches-bin/` subfolder is found too). Each record is 1 label byte (0–9) and
 * 3072 pixel bytes, channel-major (1024 red, 1024 green, 1024 blue, each 32×32 row-major);
 * genbench stores images HWC. The standard files hold 10,000 records; a file may hold fewer
 * (1 to 10,000) as long as its length is a whole number of records, so that tests and subsets
 * work, and anything else is refused in one line. Nothing is downloaded.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { concatArrays, requireDirectory } from "../core/files.ts";
import type { Dataset } from "./dataset.ts";
import { buildDataset, sha256Hex } from "./build.ts";

/** The five training batches, in order. */
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = "test_batch.bin";
/** Bytes per record: one label, then 3 × 32 × 32 pixels. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;
/** Records in each standard file; also the most a file may hold. */
export const CIFAR10_RECORDS_PER_FILE = 10_000;

const PIXELS = 32 * 32;

/** One parsed batch: HWC images (count × 3072 bytes) and labels. */
export interface CifarBatch {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Parse one CIFAR-10 binary batch; `source` names the file in every error. */
export function parseCifarBatch(bytes: Uint8Array, source: string): CifarBatch {
  const size = CIFAR10_RECORD_BYTES;
  if (bytes.length === 0) {
    throw new UsageError(`${source}: empty file (expected records of ${size} bytes)`);
  }
  if (bytes.length % size !== 0) {
    throw new UsageError(
      `${source}: ${bytes.length} bytes is not a whole number of ${size}-byte records ` +
        `(truncated, or not a CIFAR-10 binary batch; a standard file has ` +
        `${CIFAR10_RECORDS_PER_FILE * size} bytes)`,
    );
  }
  const count = bytes.length / size;
  if (count > CIFAR10_RECORDS_PER_FILE) {
    throw new UsageError(
      `${source}: ${count} records (a CIFAR-10 batch holds at most ${CIFAR10_RECORDS_PER_FILE})`,
    );
  }
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const record = n * size;
    const label = bytes[record];
    if (label > 9) {
      throw new UsageError(`${source}: record ${n} has label ${label} (expected 0-9)`);
    }
    labels[n] = label;
    // Channel-major planes → interleaved HWC pixels.
    const out = n * 3 * PIXELS;
    for (let c = 0; c < 3; c++) {
      const plane = record + 1 + c * PIXELS;
      for (let p = 0; p < PIXELS; p++) images[out + 3 * p + c] = bytes[plane + p];
    }
  }
  return { images, labels, count };
}

/** Encode HWC images and labels as a CIFAR-10 binary batch (for tests and tools). */
export function encodeCifarBatch(images: Uint8Array, labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES);
  for (let n = 0; n < labels.length; n++) {
    const record = n * CIFAR10_RECORD_BYTES;
    out[record] = labels[n];
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < PIXELS; p++) {
        out[record + 1 + c * PIXELS + p] = images[n * 3 * PIXELS + 3 * p + c];
      }
    }
  }
  return out;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** The folder holding the batches: `dir` itself, or its `cifar-10-batches-bin/` subfolder. */
async function batchFolder(dir: string): Promise<string> {
  await requireDirectory(dir, "--data-dir");
  const nested = join(dir, "cifar-10-batches-bin");
  const hasFirst = await Deno.stat(join(dir, CIFAR10_TRAIN_FILES[0])).then(() => true, () => false);
  return !hasFirst && await isDirectory(nested) ? nested : dir;
}

async function readBatch(folder: string, dataDir: string, name: string) {
  const path = join(folder, name);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `--data-dir ${dataDir}: missing ${name} (expected the CIFAR-10 binary batches ` +
          `${CIFAR10_TRAIN_FILES[0]} … ${CIFAR10_TRAIN_FILES[4]} and ${CIFAR10_TEST_FILE})`,
      );
    }
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  return { bytes, batch: parseCifarBatch(bytes, path) };
}

/**
 * Load CIFAR-10 from `dir` and build its splits: the 50,000 training images less a fixed,
 * seeded 10% validation hold-out (45,000 / 5,000), and the 10,000 test images.
 */
export async function loadCifar10(dir?: string): Promise<Dataset> {
  if (dir === undefined) {
    throw new UsageError(
      "--dataset cifar10 needs --data-dir: a folder with the CIFAR-10 binary batches " +
        `(${CIFAR10_TRAIN_FILES[0]} … ${CIFAR10_TRAIN_FILES[4]}, ${CIFAR10_TEST_FILE}; ` +
        "the unpacked cifar-10-binary.tar.gz)",
    );
  }
  const folder = await batchFolder(dir);
  const train = [];
  for (const name of CIFAR10_TRAIN_FILES) train.push(await readBatch(folder, dir, name));
  const test = await readBatch(folder, dir, CIFAR10_TEST_FILE);
  const trainCount = train.reduce((n, file) => n + file.batch.count, 0);
  if (trainCount < 2) {
    throw new UsageError(`--data-dir ${dir}: too few training images (${trainCount})`);
  }
  return buildDataset({
    name: "cifar10",
    shape: { height: 32, width: 32, channels: 3 },
    classes: 10,
    trainImages: concatArrays(train.map((file) => file.batch.images), Uint8Array),
    trainLabels: concatArrays(train.map((file) => file.batch.labels), Uint8Array),
    testImages: test.batch.images,
    testLabels: test.batch.labels,
    validCount: Math.max(1, Math.round(trainCount / 10)),
    fingerprint: sha256Hex(...train.map((file) => file.bytes), test.bytes),
    source: folder,
  });
}
