/** Turning raw images into a {@link Dataset}: the fixed validation split and static binarizations. */
import { createHash } from "node:crypto";
import { Stream } from "../core/rng.ts";
import { type Dataset, dimOf, type ImageShape, type Split } from "./dataset.ts";

/** The seed of every dataset's train/valid split; fixed so that all runs share one split. */
export const SPLIT_SEED = 1;
/** The seed of the static binarization of the test and validation sets; it never changes. */
export const BINARIZATION_SEED = 1;

/** Raw images and labels as read from files or made by a generator. */
export interface RawData {
  name: string;
  shape: ImageShape;
  classes: number;
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
  /** How many training images to hold out for validation. */
  validCount: number;
  fingerprint: string;
  source: string;
}

/** sha256 (hex) over the given byte arrays in order. */
export function sha256Hex(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/** Rows `indices` of an N×D matrix (bytes or float64 features), in that order. */
export function gatherRows(images: Uint8Array, dim: number, indices: ArrayLike<number>): Uint8Array;
export function gatherRows(
  values: Float64Array,
  dim: number,
  indices: ArrayLike<number>,
): Float64Array;
export function gatherRows(
  values: Uint8Array | Float64Array,
  dim: number,
  indices: ArrayLike<number>,
): Uint8Array | Float64Array {
  const out = values instanceof Uint8Array
    ? new Uint8Array(indices.length * dim)
    : new Float64Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    out.set(values.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return out;
}

/** Bernoulli draws with p = pixel/255, into 0/1 bytes. */
export function binarize(images: Uint8Array, stream: Stream): Uint8Array {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = stream.uniform() * 255 < images[i] ? 1 : 0;
  return out;
}

/** Split off the validation set with the fixed split seed and binarize the evaluation sets. */
export function buildDataset(raw: RawData): Dataset {
  const dim = dimOf(raw.shape);
  const trainCount = raw.trainLabels.length;
  const order = Stream.derive(SPLIT_SEED, `${raw.name}/valid-split`).permutation(trainCount);
  const validRows = order.subarray(0, raw.validCount).slice().sort();
  const trainRows = order.subarray(raw.validCount).slice().sort();
  const split = (rows: Uint32Array): Split => ({
    images: gatherRows(raw.trainImages, dim, rows),
    labels: Uint8Array.from(rows, (row) => raw.trainLabels[row]),
    count: rows.length,
  });
  const valid = split(validRows);
  const test: Split = {
    images: raw.testImages,
    labels: raw.testLabels,
    count: raw.testLabels.length,
  };
  return {
    name: raw.name,
    shape: raw.shape,
    classes: raw.classes,
    train: split(trainRows),
    valid,
    test,
    testBinary: binarize(
      test.images,
      Stream.derive(BINARIZATION_SEED, `${raw.name}/binarize-test`),
    ),
    validBinary: binarize(
      valid.images,
      Stream.derive(BINARIZATION_SEED, `${raw.name}/binarize-valid`),
    ),
    binarizationSeed: BINARIZATION_SEED,
    splitSeed: SPLIT_SEED,
    fingerprint: raw.fingerprint,
    source: raw.source,
  };
}
