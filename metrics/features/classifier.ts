/**
 * The frozen feature extractor of the feature-based metrics: a LeNet-5-style MNIST classifier
 * (LeCun et al. 1998) in tfjs-core, trained by `deno task train:classifier` from a fixed seed.
 * Its penultimate layer (84 ReLU units) is the feature space of FID/KID/precision/recall; its
 * softmax gives p(y|x) for the IS-style score, the class histogram and the label accuracy.
 *
 * Weights file format (`genbench-lenet/1`, JSON): `{ format, arch, tensors: [{ name, shape }],
 * data }` where `data` is base64 of the float32 little-endian values of every tensor, in the
 * order of `tensors`. The extractor's hash is sha256 of the file's canonical JSON text
 * (`JSON.stringify` of its parsed value: no whitespace), so re-indenting the file does not
 * change it, while any change of a weight, a shape or the architecture does. A user's own
 * extractor (`--features PATH`) is a file in the same format, with any layer sizes in `arch`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { UsageError } from "../../core/errors.ts";
import { MAX_BYTES, readTextFileLimited } from "../../core/files.ts";
import type { Stream } from "../../core/rng.ts";
import committedWeights from "./lenet-mnist.weights.json" with { type: "json" };

/** The format tag of a weights file. */
export const WEIGHTS_FORMAT = "genbench-lenet/1";

/**
 * sha256 of the committed `lenet-mnist.weights.json` (canonical JSON, see the module doc).
 * `loadLenet()` refuses weights whose hash differs; retraining changes it on purpose only.
 */
export const LENET_SHA256 = "2e934db1323f0bff40168729bf69071f1bb986f981b8b9b2c650ffc2c4713c0f";

/** Layer sizes. Input is height×width×1 grey in [0, 1]. */
export interface LenetArch {
  height: number;
  width: number;
  /** Filters of the first 5×5 conv ('same' padding), then 2×2 max-pool. */
  conv1: number;
  /** Filters of the second 5×5 conv ('valid' padding), then 2×2 max-pool. */
  conv2: number;
  kernel: number;
  dense1: number;
  /** The feature layer's width. */
  dense2: number;
  classes: number;
}

/** The canonical architecture: LeNet-5 with 8 first-layer filters (not 6), ReLU, max-pooling. */
export const LENET_ARCH: LenetArch = {
  height: 28,
  width: 28,
  conv1: 8,
  conv2: 16,
  kernel: 5,
  dense1: 120,
  dense2: 84,
  classes: 10,
};

/** The JSON weights file. */
export interface LenetWeightsFile {
  format: string;
  arch: LenetArch;
  tensors: { name: string; shape: number[] }[];
  /** base64 of the float32 little-endian values of all tensors, concatenated in order. */
  data: string;
  /** Free-form provenance (seed, epochs, accuracy); part of the hash like everything else. */
  info?: Record<string, unknown>;
}

/** sha256 (hex) of a weights file's canonical JSON. */
export function weightsSha256(file: unknown): string {
  return createHash("sha256").update(JSON.stringify(file)).digest("hex");
}

function flatSize(arch: LenetArch): number {
  // conv1 keeps the size ('same'), pool halves; conv2 is 'valid', pool halves again: every
  // size a pool sees must be even, and the kernel odd.
  const sizes = [
    arch.height,
    arch.width,
    arch.height / 2 - arch.kernel + 1,
    arch.width / 2 - arch.kernel + 1,
  ];
  if (arch.kernel % 2 !== 1 || sizes.some((s) => !Number.isInteger(s / 2) || s < 2)) {
    throw new UsageError(
      `LeNet: ${arch.height}×${arch.width} images with ${arch.kernel}×${arch.kernel} kernels ` +
        "do not pool evenly (need even sizes before each 2×2 pool and an odd kernel)",
    );
  }
  return (sizes[2] / 2) * (sizes[3] / 2) * arch.conv2;
}

/** The shapes of every tensor, in file order. */
export function lenetShapes(arch: LenetArch): { name: string; shape: number[] }[] {
  const k = arch.kernel;
  return [
    { name: "conv1/kernel", shape: [k, k, 1, arch.conv1] },
    { name: "conv1/bias", shape: [arch.conv1] },
    { name: "conv2/kernel", shape: [k, k, arch.conv1, arch.conv2] },
    { name: "conv2/bias", shape: [arch.conv2] },
    { name: "dense1/kernel", shape: [flatSize(arch), arch.dense1] },
    { name: "dense1/bias", shape: [arch.dense1] },
    { name: "dense2/kernel", shape: [arch.dense1, arch.dense2] },
    { name: "dense2/bias", shape: [arch.dense2] },
    { name: "logits/kernel", shape: [arch.dense2, arch.classes] },
    { name: "logits/bias", shape: [arch.classes] },
  ];
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A LeNet classifier: its variables and its forward pass. */
export class Lenet {
  readonly vars: Map<string, tf.Variable>;

  private constructor(readonly arch: LenetArch, values: Map<string, Float32Array>) {
    this.vars = new Map();
    for (const { name, shape } of lenetShapes(arch)) {
      this.vars.set(name, tf.variable(tf.tensor(values.get(name)!, shape), true));
    }
  }

  /** Fresh weights: He-uniform kernels from the `init` stream, zero biases. */
  static init(arch: LenetArch, init: Stream): Lenet {
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of lenetShapes(arch)) {
      const out = new Float32Array(sizeOf(shape));
      if (name.endsWith("/kernel")) {
        const fanIn = sizeOf(shape.slice(0, -1));
        const limit = Math.sqrt(6 / fanIn);
        for (let i = 0; i < out.length; i++) out[i] = (2 * init.uniform() - 1) * limit;
      }
      values.set(name, out);
    }
    return new Lenet(arch, values);
  }

  /** Weights from a parsed weights file (checked for format and shapes). */
  static fromFile(file: LenetWeightsFile, source: string): Lenet {
    if (!file || typeof file !== "object" || file.format !== WEIGHTS_FORMAT) {
      throw new UsageError(`${source}: not a ${WEIGHTS_FORMAT} weights file`);
    }
    const keys = Object.keys(LENET_ARCH) as (keyof LenetArch)[];
    const arch = file.arch as Partial<LenetArch> | undefined;
    const bad = keys.find((key) => !(Number.isInteger(arch?.[key]) && arch![key]! > 0));
    if (bad) throw new UsageError(`${source}: "arch.${bad}" must be a positive integer`);
    const expected = lenetShapes(file.arch);
    const same = expected.length === file.tensors?.length &&
      expected.every((t, i) =>
        t.name === file.tensors[i].name && t.shape.join() === file.tensors[i].shape.join()
      );
    if (!same) {
      throw new UsageError(`${source}: tensor names or shapes do not match its "arch"`);
    }
    const bytes = Buffer.from(file.data, "base64");
    const total = expected.reduce((n, t) => n + sizeOf(t.shape), 0);
    if (bytes.length !== 4 * total) {
      throw new UsageError(`${source}: ${bytes.length} bytes of data, expected ${4 * total}`);
    }
    const all = new Float32Array(total);
    new Uint8Array(all.buffer).set(bytes);
    const values = new Map<string, Float32Array>();
    let offset = 0;
    for (const { name, shape } of expected) {
      values.set(name, all.subarray(offset, offset + sizeOf(shape)));
      offset += sizeOf(shape);
    }
    return new Lenet(file.arch, values);
  }

  /** The weights file of the current weights. */
  async toFile(info?: Record<string, unknown>): Promise<LenetWeightsFile> {
    const tensors = lenetShapes(this.arch);
    const parts = await Promise.all(tensors.map(({ name }) => this.vars.get(name)!.data()));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const all = new Float32Array(total);
    let offset = 0;
    for (const part of parts) {
      all.set(part as Float32Array, offset);
      offset += part.length;
    }
    const data = Buffer.from(all.buffer).toString("base64");
    return { format: WEIGHTS_FORMAT, arch: this.arch, tensors, data, ...(info ? { info } : {}) };
  }

  /** Features (the penultimate layer, after ReLU) and logits for x: [B, H·W] in [0, 1]. */
  forward(x: tf.Tensor2D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    return tf.tidy(() => {
      const v = (name: string) => this.vars.get(name)!;
      const { height, width, kernel: k } = this.arch;
      const pad = (k - 1) / 2;
      let h: tf.Tensor4D = tf.reshape(x, [-1, height, width, 1]);
      const conv = (t: tf.Tensor4D, kernel: tf.Variable) =>
        tf.conv2d(t, kernel as tf.Tensor4D, 1, "valid");
      const pool = (t: tf.Tensor4D) => tf.maxPool(t, 2, 2, "valid");
      h = tf.pad(h, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
      h = pool(tf.relu(tf.add(conv(h, v("conv1/kernel")), v("conv1/bias"))));
      h = pool(tf.relu(tf.add(conv(h, v("conv2/kernel")), v("conv2/bias"))));
      const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
      const d1 = tf.relu(
        tf.add(tf.matMul(flat, v("dense1/kernel")), v("dense1/bias")),
      ) as tf.Tensor2D;
      const features = tf.relu(
        tf.add(tf.matMul(d1, v("dense2/kernel")), v("dense2/bias")),
      ) as tf.Tensor2D;
      const logits = tf.add(
        tf.matMul(features, v("logits/kernel")),
        v("logits/bias"),
      ) as tf.Tensor2D;
      return { features, logits };
    });
  }

  /** Number of trainable parameters. */
  paramCount(): number {
    let n = 0;
    for (const variable of this.vars.values()) n += variable.size;
    return n;
  }

  dispose(): void {
    for (const variable of this.vars.values()) variable.dispose();
  }
}

/**
 * A frozen feature extractor and the hash every feature-based number records. `name` is
 * `lenet` (the committed weights), `pixels` (raw pixel values as features, no classifier) or
 * the path of a user's weights file.
 */
export interface FeatureExtractor {
  name: string;
  sha256: string;
  /** Width of the feature vectors. */
  featureDim: number;
  /** Number of classes of p(y|x); 0 for `pixels`, which has no classifier. */
  classes: number;
  /** The classifier; absent for `pixels`. */
  net?: Lenet;
  /** Image size the extractor accepts (D = height·width, one grey channel). */
  height: number;
  width: number;
}

/** The committed LeNet, after checking its sha256 against {@link LENET_SHA256}. */
export function loadLenet(): FeatureExtractor {
  const sha256 = weightsSha256(committedWeights);
  if (sha256 !== LENET_SHA256) {
    throw new Error(
      `metrics/features/lenet-mnist.weights.json: sha256 ${sha256} differs from the committed ` +
        `${LENET_SHA256} (retrained without updating LENET_SHA256?)`,
    );
  }
  return extractorFrom(committedWeights as unknown as LenetWeightsFile, "lenet", sha256);
}

/** A user's weights file in the `genbench-lenet/1` format (see the module doc). */
export async function loadLenetFile(path: string): Promise<FeatureExtractor> {
  let text: string;
  try {
    text = await readTextFileLimited(path, MAX_BYTES.extractor, "--features");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--features ${path}: cannot read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--features ${path}: not JSON (expected a ${WEIGHTS_FORMAT} file)`);
  }
  return extractorFrom(parsed as LenetWeightsFile, path, weightsSha256(parsed));
}

/**
 * Raw pixels as features (D = height·width): for small data, and to check the arithmetic
 * against other tools. Its hash names the choice, not weights.
 */
export function pixelExtractor(height: number, width: number): FeatureExtractor {
  const name = `pixels:${height}x${width}`;
  return {
    name: "pixels",
    sha256: createHash("sha256").update(name).digest("hex"),
    featureDim: height * width,
    classes: 0,
    height,
    width,
  };
}

/** The extractor for `--features lenet|pixels|PATH` on images of height × width. */
export async function loadExtractor(
  spec: string,
  height = 28,
  width = 28,
): Promise<FeatureExtractor> {
  const extractor = spec === "pixels"
    ? pixelExtractor(height, width)
    : spec === "lenet"
    ? loadLenet()
    : await loadLenetFile(spec);
  if (extractor.height !== height || extractor.width !== width) {
    extractor.net?.dispose();
    throw new UsageError(
      `--features ${spec}: the extractor takes ${extractor.height}×${extractor.width} images, ` +
        `not ${height}×${width} (use --features pixels)`,
    );
  }
  return extractor;
}

function extractorFrom(file: LenetWeightsFile, name: string, sha256: string): FeatureExtractor {
  return lenetExtractor(Lenet.fromFile(file, name), name, sha256);
}

/** A {@link FeatureExtractor} of `net`, its sizes read from the net's architecture. */
export function lenetExtractor(net: Lenet, name: string, sha256: string): FeatureExtractor {
  return {
    name,
    sha256,
    featureDim: net.arch.dense2,
    classes: net.arch.classes,
    net,
    height: net.arch.height,
    width: net.arch.width,
  };
}

/** Features [n × featureDim] and class probabilities [n × classes], row-major, float64. */
export interface ExtractedFeatures {
  count: number;
  dim: number;
  features: Float64Array;
  classes: number;
  /** Softmax p(y|x); empty for `pixels`. */
  probs: Float64Array;
  /** The extractor's hash, recorded with every number computed from these features. */
  sha256: string;
}

/**
 * Run the extractor over `count` images (row-major [count × H·W] grey values in [0, 1]) in
 * batches of `batchSize`. Each image is processed independently, so the result does not
 * depend on the batch size.
 */
export async function extractFeatures(
  extractor: FeatureExtractor,
  images: Float32Array,
  count: number,
  batchSize = 500,
): Promise<ExtractedFeatures> {
  const d = extractor.height * extractor.width;
  if (images.length !== count * d) {
    throw new UsageError(
      `feature extraction: ${images.length} values is not ${count} images of ${d} pixels`,
    );
  }
  const dim = extractor.featureDim;
  const features = new Float64Array(count * dim);
  const classes = extractor.classes;
  const probs = new Float64Array(count * classes);
  if (!extractor.net) {
    features.set(images);
    return { count, dim, features, classes, probs, sha256: extractor.sha256 };
  }
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const x = tf.tensor2d(images.subarray(start * d, (start + n) * d), [n, d]);
    const out = extractor.net.forward(x);
    const p = tf.softmax(out.logits);
    features.set(await out.features.data(), start * dim);
    probs.set(await p.data(), start * classes);
    tf.dispose([x, out.features, out.logits, p]);
  }
  return { count, dim, features, classes, probs, sha256: extractor.sha256 };
}

/** Grey values in [0, 1] from 0..255 bytes (the classifier's input units). */
export function bytesToGrey(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/**
 * Fraction of `count` images the extractor's classifier labels correctly. `images` are 0..255
 * bytes (or 0/1 bytes with `binary`), row-major [count × H·W].
 */
export async function classifierAccuracy(
  extractor: FeatureExtractor,
  images: Uint8Array,
  labels: ArrayLike<number>,
  count: number,
  binary = false,
): Promise<number> {
  const d = extractor.height * extractor.width;
  const bytes = images.subarray(0, count * d);
  const x = binary ? Float32Array.from(bytes) : bytesToGrey(bytes);
  const { probs, classes } = await extractFeatures(extractor, x, count);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    }
    if (best === labels[i]) correct++;
  }
  return correct / count;
}
