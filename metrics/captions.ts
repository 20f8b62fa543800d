/**
 * Metrics of generation from captions (datasets/captions.ts), where every caption names a digit
 * and a domain of datasets/domains.ts, so each generated image has a class it must show and a
 * real counterpart: the captioned test digit put through the captioned domain.
 *
 * - digit / domain / match accuracy: the frozen digit reader's accuracy at the captioned digit,
 *   the frozen domain namer's at the captioned domain, and the fraction where both are right
 *   (metrics/domains; 28×28 only);
 * - FID of the generated images against their real counterparts in the digit reader's 84
 *   features (it reads every domain); the mean of per-domain FIDs; and intra-FID, the mean of
 *   the per-class FIDs over the 80 (digit, domain) classes (Miyato & Koyama 2018, "cGANs with
 *   Projection Discriminator"), each only where every group has more images than features;
 * - diversity: mean over captions of the mean pairwise RMS pixel distance between the samples of
 *   one caption, √(mean over pixels of (xᵢ − xⱼ)²): 0 when a caption always gives the same image.
 *   Pixel space, so it is defined at any image size; real images of one class set its scale.
 */
import {
  type ExtractedFeatures,
  extractFeatures,
  type FeatureExtractor,
} from "./features/classifier.ts";
import { fid } from "./features/fid.ts";
import { predictClasses } from "./translation.ts";
import { UsageError } from "../core/errors.ts";

/** Mean over pairs i < j of the RMS pixel distance between `count` images of `dim` values. */
export function meanPairwiseDistance(images: Float32Array, count: number, dim: number): number {
  if (count < 2 || images.length !== count * dim) {
    throw new UsageError(
      `caption diversity: need ≥ 2 images of ${dim} values, got ${images.length} values`,
    );
  }
  let total = 0;
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) {
        const diff = images[i * dim + k] - images[j * dim + k];
        sum += diff * diff;
      }
      total += Math.sqrt(sum / dim);
    }
  }
  return total / ((count * (count - 1)) / 2);
}

/**
 * Mean over `groups` of {@link meanPairwiseDistance} of each group: `images` holds
 * groups × perGroup images, the samples of one caption adjacent.
 */
export function captionDiversity(
  images: Float32Array,
  groups: number,
  perGroup: number,
  dim: number,
): number {
  let total = 0;
  const size = perGroup * dim;
  for (let g = 0; g < groups; g++) {
    total += meanPairwiseDistance(images.subarray(g * size, (g + 1) * size), perGroup, dim);
  }
  return total / groups;
}

/** Images made for captions, and what each caption asked for. */
export interface CaptionedImages {
  count: number;
  /** [count × 28·28] in [0, 1]. */
  generated: Float32Array;
  /** The real counterparts: each captioned test digit through its captioned domain. */
  real: Float32Array;
  digits: ArrayLike<number>;
  /** DOMAINS indices. */
  domains: ArrayLike<number>;
}

/** The scores of {@link captionScores}; a FID is null where its groups are too small. */
export interface CaptionScores {
  count: number;
  digitAccuracy: number;
  domainAccuracy: number;
  matchAccuracy: number;
  /** The same three accuracies of the real counterparts: the classifiers' ceiling. */
  real: { digitAccuracy: number; domainAccuracy: number; matchAccuracy: number };
  fid: number | null;
  /** Per-domain FID, by DOMAINS index (null where that domain has too few images). */
  domainFids: (number | null)[];
  /** Mean of `domainFids`; null unless every domain has one. */
  domainFid: number | null;
  /** Mean per-class FID over every (digit, domain) class; null unless every class has one. */
  intraFid: number | null;
}

/** Accuracies of predicted digits and domains against the asked ones. */
function accuracies(
  digits: Int32Array,
  domains: Int32Array,
  asked: CaptionedImages,
): { digitAccuracy: number; domainAccuracy: number; matchAccuracy: number } {
  let digit = 0;
  let domain = 0;
  let both = 0;
  for (let i = 0; i < asked.count; i++) {
    const d = digits[i] === asked.digits[i];
    const m = domains[i] === asked.domains[i];
    digit += d ? 1 : 0;
    domain += m ? 1 : 0;
    both += d && m ? 1 : 0;
  }
  const n = asked.count;
  return { digitAccuracy: digit / n, domainAccuracy: domain / n, matchAccuracy: both / n };
}

/** The most probable class of each row of extracted class probabilities. */
function mostProbable({ count, classes, probs }: ExtractedFeatures): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    for (let c = 1; c < classes; c++) {
      if (probs[i * classes + c] > probs[i * classes + out[i]]) out[i] = c;
    }
  }
  return out;
}

/** The feature rows `rows` of a feature set, as a feature set. */
function rowsOf(
  features: { dim: number; features: Float64Array },
  rows: number[],
): { count: number; dim: number; features: Float64Array } {
  const { dim } = features;
  const out = new Float64Array(rows.length * dim);
  rows.forEach((r, i) => out.set(features.features.subarray(r * dim, (r + 1) * dim), i * dim));
  return { count: rows.length, dim, features: out };
}

/**
 * FID of the generated images against their real counterparts per group (group of image i:
 * `groupOf(i)`, 0..groups−1); null for a group with no more images than features.
 */
function groupFids(
  generated: { dim: number; features: Float64Array },
  real: { dim: number; features: Float64Array },
  count: number,
  groups: number,
  groupOf: (i: number) => number,
): (number | null)[] {
  const members: number[][] = Array.from({ length: groups }, () => []);
  for (let i = 0; i < count; i++) members[groupOf(i)].push(i);
  return members.map((rows) =>
    rows.length > generated.dim ? fid(rowsOf(generated, rows), rowsOf(real, rows)) : null
  );
}

const meanOrNull = (values: (number | null)[]) =>
  values.every((v) => v !== null)
    ? (values as number[]).reduce((a, b) => a + b, 0) / values.length
    : null;

/** Every classifier-based score of images generated from captions. */
export async function captionScores(
  images: CaptionedImages,
  classifiers: { digit: FeatureExtractor; domain: FeatureExtractor },
): Promise<CaptionScores> {
  const { count } = images;
  const d = classifiers.digit.height * classifiers.digit.width;
  if (
    count < 1 || images.generated.length !== count * d || images.real.length !== count * d ||
    images.digits.length < count || images.domains.length < count
  ) {
    throw new UsageError(
      `caption scores: need ${count} ≥ 1 images of ${d} pixels and their labels`,
    );
  }
  const domainCount = classifiers.domain.classes;
  const generated = await extractFeatures(classifiers.digit, images.generated, count);
  const real = await extractFeatures(classifiers.digit, images.real, count);
  const scored = async (pixels: Float32Array, features: ExtractedFeatures) =>
    accuracies(
      mostProbable(features),
      await predictClasses(classifiers.domain, pixels, count),
      images,
    );
  const domainFids = groupFids(generated, real, count, domainCount, (i) => images.domains[i]);
  const classFids = groupFids(
    generated,
    real,
    count,
    10 * domainCount,
    (i) => images.digits[i] * domainCount + images.domains[i],
  );
  return {
    count,
    ...(await scored(images.generated, generated)),
    real: await scored(images.real, real),
    fid: count > generated.dim ? fid(generated, real) : null,
    domainFids,
    domainFid: meanOrNull(domainFids),
    intraFid: meanOrNull(classFids),
  };
}
