/**
 * Metrics of image completion from a few key patches (datasets/patches.ts), where every
 * completion has a true answer, its source image, and every mask a true one, the union of the
 * squares the patches were cut from:
 *
 * - PSNR and SSIM of the whole completion against its source (metrics/reconstruction.ts, data
 *   range 1), averaged over images; PSNR per image capped at {@link PSNR_CAP} as for translations;
 * - mask IoU: the predicted mask thresholded at 0.5 (≥ 0.5 counts as inside) against the true
 *   mask, |P ∩ T| / |P ∪ T| per image over its pixels (first channel), averaged over images;
 * - label accuracy: the frozen digit classifier's accuracy on the completions against the
 *   sources' labels (28×28 only).
 *
 * Images and masks are row-major [count × D] in [0, 1].
 */
import type { ImageShape } from "../datasets/dataset.ts";
import type { FeatureExtractor } from "./features/classifier.ts";
import { psnrPerImage, ssimPerImage } from "./reconstruction.ts";
import { predictClasses, PSNR_CAP } from "./translation.ts";

export { PSNR_CAP } from "./translation.ts";

/** Per-image IoU of masks thresholded at `threshold` against 0/1 true masks, [count × D]. */
export function maskIoU(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  shape: ImageShape,
  threshold = 0.5,
): Float64Array {
  const { height, width, channels } = shape;
  const dim = height * width * channels;
  const count = truth.length / dim;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let both = 0;
    let either = 0;
    for (let p = 0; p < height * width; p++) {
      const at = i * dim + p * channels;
      const inside = predicted[at] >= threshold;
      const real = truth[at] >= 0.5;
      if (inside && real) both++;
      if (inside || real) either++;
    }
    // Both empty: nothing to place, nothing placed.
    out[i] = either === 0 ? 1 : both / either;
  }
  return out;
}

/** Completions of `count` source images and what they are scored against. */
export interface CompletionInputs {
  count: number;
  shape: ImageShape;
  /** The source images. */
  sources: Float32Array;
  /** The model's completions. */
  completed: Float32Array;
  /** The model's masks. */
  masks: Float32Array;
  /** The true masks (datasets/patches.ts `patchMasks`). */
  trueMasks: Float32Array;
  /** The sources' digits, for the label accuracy. */
  labels?: ArrayLike<number>;
}

/** The averages over images. */
export interface CompletionScores {
  psnr: number;
  /** NaN where the images are smaller than the SSIM window. */
  ssim: number;
  maskIoU: number;
  /** Null without labels or a classifier. */
  labelAccuracy: number | null;
}

const mean = (v: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  return sum / v.length;
};

/** Every score of a set of completions; the label accuracy needs `classifier` and labels. */
export async function completionScores(
  inputs: CompletionInputs,
  classifier?: FeatureExtractor,
): Promise<CompletionScores> {
  const { count, shape, sources, completed } = inputs;
  const dim = shape.height * shape.width * shape.channels;
  const psnr = psnrPerImage(sources, completed, dim).map((v) => Math.min(v, PSNR_CAP));
  const canSsim = shape.height >= 11 && shape.width >= 11;
  let labelAccuracy: number | null = null;
  if (classifier && inputs.labels) {
    const predicted = await predictClasses(classifier, completed, count);
    let hits = 0;
    for (let i = 0; i < count; i++) if (predicted[i] === inputs.labels[i]) hits++;
    labelAccuracy = hits / count;
  }
  return {
    psnr: mean(psnr),
    ssim: canSsim ? mean(ssimPerImage(sources, completed, shape)) : NaN,
    maskIoU: mean(maskIoU(inputs.masks, inputs.trueMasks, shape)),
    labelAccuracy,
  };
}
