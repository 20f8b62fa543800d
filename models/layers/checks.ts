/**
 * Shape and label checks shared by the models: each refuses bad input in one line naming the
 * model and what was expected (a UsageError, so the command line exits 2 without a trace).
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "../../core/errors.ts";
import type { ImageShape } from "../../datasets/dataset.ts";

/** Refuses a batch whose width is not D = H·W·C, in one line. */
export function checkWidth(model: string, x: tf.Tensor2D, dims: number): void {
  if (x.rank !== 2 || x.shape[1] !== dims) {
    throw new UsageError(
      `${model}: expected a [batch, ${dims}] input, got [${x.shape.join(", ")}]`,
    );
  }
}

/** Refuses images with more than one channel (the pixel models order pixels, not sub-pixels). */
export function checkSingleChannel(model: string, shape: ImageShape): void {
  if (shape.channels !== 1) {
    throw new UsageError(
      `${model}: only single-channel images are supported (got ${shape.channels} channels)`,
    );
  }
}

/** Refuses image sizes that two stride-2 layers cannot halve twice, in one line. */
export function checkStride2Shape(model: string, shape: ImageShape): void {
  if (shape.height % 4 !== 0 || shape.width % 4 !== 0) {
    throw new UsageError(
      `${model}: image size ${shape.height}×${shape.width} does not fit the architecture ` +
        "(two stride-2 layers need height and width divisible by 4)",
    );
  }
}

/** Refuses labels outside [0, classes) or of the wrong count, in one line. */
export function checkLabels(model: string, labels: Int32Array, n: number, classes: number): void {
  if (labels.length !== n) {
    throw new UsageError(`${model}: expected ${n} labels, got ${labels.length}`);
  }
  const bad = labels.find((y) => !(y >= 0 && y < classes));
  if (bad !== undefined) {
    throw new UsageError(`${model}: label ${bad} is outside 0..${classes - 1}`);
  }
}

/** One-hot float rows [B, classes] for int labels. */
export function oneHot(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.tidy(() =>
    tf.cast(tf.oneHot(tf.cast(labels, "int32"), classes), "float32")
  ) as tf.Tensor2D;
}
