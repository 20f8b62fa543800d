/**
 * A tiny synthetic dataset for tests and the `ci` suite: small grey images of ten classes,
 * each class a few random strokes, each image its class's strokes shifted by up to one pixel,
 * with grey-level jitter. Made from a seed, so it is the same everywhere and needs no files.
 */
import { Stream } from "../core/rng.ts";
import type { Dataset } from "./dataset.ts";
import { buildDataset, sha256Hex } from "./build.ts";

/** Sizes of the synthetic dataset. */
export interface SyntheticOptions {
  size?: number;
  trainCount?: number;
  testCount?: number;
  seed?: number;
}

/** Draw a thick line segment into a size×size float image. */
function stroke(image: Float32Array, size: number, stream: Stream): void {
  const [x0, y0, x1, y1] = [0, 0, 0, 0].map(() => 1 + stream.uniform() * (size - 3));
  const steps = 4 * size;
  for (let s = 0; s <= steps; s++) {
    const x = Math.round(x0 + ((x1 - x0) * s) / steps);
    const y = Math.round(y0 + ((y1 - y0) * s) / steps);
    image[y * size + x] = 1;
    if (x + 1 < size) image[y * size + x + 1] = Math.max(image[y * size + x + 1], 0.6);
  }
}

/** The synthetic dataset (default 12×12, 600 train images of which 100 validation, 200 test). */
export function syntheticDataset(options: SyntheticOptions = {}): Dataset {
  const { size = 12, trainCount = 600, testCount = 200, seed = 7 } = options;
  const stream = Stream.derive(seed, "synthetic");
  const prototypes = Array.from({ length: 10 }, () => {
    const image = new Float32Array(size * size);
    for (let i = 0; i < 2; i++) stroke(image, size, stream);
    return image;
  });
  const make = (count: number) => {
    const images = new Uint8Array(count * size * size);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const label = n % 10;
      labels[n] = label;
      const dx = stream.int(3) - 1;
      const dy = stream.int(3) - 1;
      const gain = 0.75 + 0.25 * stream.uniform();
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const sx = x - dx;
          const sy = y - dy;
          const inside = sx >= 0 && sx < size && sy >= 0 && sy < size;
          const value = inside ? prototypes[label][sy * size + sx] * gain : 0;
          images[n * size * size + y * size + x] = Math.round(255 * value);
        }
      }
    }
    return { images, labels };
  };
  const train = make(trainCount);
  const test = make(testCount);
  return buildDataset({
    name: "synthetic",
    shape: { height: size, width: size, channels: 1 },
    classes: 10,
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
    validCount: Math.round(trainCount / 6),
    fingerprint: sha256Hex(train.images, train.labels, test.images, test.labels),
    source: `generated (genbench synthetic, seed ${seed}, ${size}×${size})`,
  });
}
