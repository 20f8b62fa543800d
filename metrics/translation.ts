/**
 * Metrics of image-to-image translation between the MNIST domains of datasets/domains.ts,
 * where every translated test image has a true answer (the same digit through the target
 * domain's function):
 *
 * - label preservation: the frozen digit reader's accuracy on the translations (the digit
 *   must survive); `truthLabelAccuracy`, its accuracy on the ground truth, is the ceiling;
 * - target-domain accuracy: the frozen domain namer's accuracy at naming the target domain;
 * - PSNR and SSIM of each translation against its ground truth (metrics/reconstruction.ts,
 *   data range 1), averaged over images; PSNR per image is capped at {@link PSNR_CAP} so that
 *   a perfect translation has a finite, JSON-safe score;
 * - cycle-consistency error: mean absolute pixel error of source → target → source round
 *   trips against the sources (the L1 of the CycleGAN loss, per pixel);
 * - FID of the translations against the real target-domain images, in the digit reader's
 *   feature space (it reads every domain; the MNIST LeNet does not).
 *
 * Images are row-major [count × height·width] grey values in [0, 1].
 */
import { UsageError } from "../core/errors.ts";
import type { Split } from "../datasets/dataset.ts";
import { DOMAINS, pairedTranslation, type Translator } from "../datasets/domains.ts";

export type { Translator } from "../datasets/domains.ts";
import { extractFeatures, type FeatureExtractor } from "./features/classifier.ts";
import { fid } from "./features/fid.ts";
import { psnrPerImage, ssimPerImage } from "./reconstruction.ts";

/** The PSNR (dB) of a translation equal to its ground truth (and the cap of every image). */
export const PSNR_CAP = 100;

/** The frozen classifiers the scores need (metrics/domains/classifiers.ts). */
export interface TranslationClassifiers {
  digit: FeatureExtractor;
  domain: FeatureExtractor;
}

/** A translation and what it is scored against. */
export interface TranslationInputs {
  count: number;
  height: number;
  width: number;
  /** The model's translations of the source images. */
  translated: Float32Array;
  /** Ground truth: the same digits through the target domain. */
  truth: Float32Array;
  /** The digits. */
  labels: ArrayLike<number>;
  /** The DOMAINS index of the target domain. */
  targetDomain: number;
  /** The source images and their round trips (source → target → source), for the cycle error. */
  source?: Float32Array;
  cycled?: Float32Array;
}

/** The scores of one translation direction. */
export interface TranslationScores {
  count: number;
  labelPreservation: number;
  truthLabelAccuracy: number;
  targetDomainAccuracy: number;
  psnr: number;
  ssim: number;
  /** Mean absolute error per pixel of the round trips; null without them. */
  cycleL1: number | null;
  /** FID against the ground truth; null when there are too few images (≤ feature width). */
  fid: number | null;
}

/** The most probable class of each image. */
export async function predictClasses(
  extractor: FeatureExtractor,
  images: Float32Array,
  count: number,
): Promise<Int32Array> {
  const { probs, classes } = await extractFeatures(extractor, images, count);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    }
    out[i] = best;
  }
  return out;
}

function fractionEqual(predicted: Int32Array, expected: (i: number) => number): number {
  let hits = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === expected(i)) hits++;
  return hits / predicted.length;
}

const mean = (v: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  return sum / v.length;
};

/** Mean absolute difference per value of two equally long arrays. */
export function meanAbsoluteError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Every score of one translation direction. */
export async function translationScores(
  inputs: TranslationInputs,
  classifiers: TranslationClassifiers,
): Promise<TranslationScores> {
  const { count, height, width, translated, truth, labels, targetDomain } = inputs;
  const d = height * width;
  const check = (name: string, values: Float32Array | undefined) => {
    if (values && values.length !== count * d) {
      throw new UsageError(
        `translation scores: ${name} has ${values.length} values, not ${count} images of ${d}`,
      );
    }
  };
  check("translated", translated);
  check("truth", truth);
  check("source", inputs.source);
  check("cycled", inputs.cycled);
  if (count < 1 || labels.length < count) {
    throw new UsageError(`translation scores: need ${count} ≥ 1 labels, got ${labels.length}`);
  }
  if (!(targetDomain >= 0 && targetDomain < classifiers.domain.classes)) {
    throw new UsageError(`translation scores: target domain ${targetDomain} is not a class`);
  }
  const digits = await predictClasses(classifiers.digit, translated, count);
  const truthDigits = await predictClasses(classifiers.digit, truth, count);
  const domains = await predictClasses(classifiers.domain, translated, count);
  const psnr = psnrPerImage(translated, truth, d).map((v) => Math.min(v, PSNR_CAP));
  const shape = { height, width, channels: 1 };
  const cycleL1 = inputs.source && inputs.cycled
    ? meanAbsoluteError(inputs.source, inputs.cycled)
    : null;
  let fidValue: number | null = null;
  if (count > classifiers.digit.featureDim) {
    const a = await extractFeatures(classifiers.digit, translated, count);
    const b = await extractFeatures(classifiers.digit, truth, count);
    fidValue = fid(a, b);
  }
  return {
    count,
    labelPreservation: fractionEqual(digits, (i) => labels[i]),
    truthLabelAccuracy: fractionEqual(truthDigits, (i) => labels[i]),
    targetDomainAccuracy: fractionEqual(domains, () => targetDomain),
    psnr: mean(psnr),
    ssim: mean(ssimPerImage(translated, truth, shape)),
    cycleL1,
    fid: fidValue,
  };
}

/** 0..255 bytes to [0, 1]. */
function toUnit(bytes: Uint8Array): Float32Array {
  return Float32Array.from(bytes, (v) => v / 255);
}

/**
 * Score `translate` from domain `from` to `to` on the first `count` digits of `test`: each
 * digit is put through `from`, translated, compared with the digit through `to`, and
 * translated back for the cycle error.
 */
export async function evaluateTranslator(
  translate: Translator,
  test: Split,
  from: number,
  to: number,
  classifiers: TranslationClassifiers,
  count = test.count,
): Promise<TranslationScores> {
  const pairs = pairedTranslation(test, DOMAINS[from], DOMAINS[to], count);
  const rows = Uint32Array.from({ length: pairs.count }, (_, i) => i);
  const source = toUnit(pairs.source);
  const translated = await translate(source, pairs.count, from, to, rows);
  const cycled = await translate(translated, pairs.count, to, from, rows);
  return translationScores({
    count: pairs.count,
    height: 28,
    width: 28,
    translated,
    truth: toUnit(pairs.target),
    labels: pairs.labels,
    targetDomain: to,
    source,
    cycled,
  }, classifiers);
}
