/**
 * The translation metrics of a model that translates between domains of datasets/domains.ts
 * (capability `translate`): for each ordered domain pair scored, the same seeded subset of test
 * digits is put through the source domain, translated, compared with its ground truth (the digit
 * through the target domain) and translated back (metrics/translation.ts). metrics.json gets the
 * mean over pairs of each score, with `n` (digits per pair) and `pairs`; `translation.json` the
 * score of every pair; `translation_<from>-to-<to>.png` a grid per pair (views/translation.ts).
 *
 * Which pairs: both directions of a two-domain model; for more domains, from `original` (or the
 * first domain) to every other, plus as many other ordered pairs drawn once from the
 * evaluation's own stream. The suite's evalCount bounds the translated digits over all pairs.
 *
 * The frozen digit and domain classifiers read 28×28 images only: on other sizes (the 12×12
 * synthetic data) only PSNR, SSIM and the cycle error are scored, and translation.json says so.
 */
import { join } from "node:path";
import type { Stream } from "../../core/rng.ts";
import { gatherRows } from "../../datasets/build.ts";
import { dimOf, type ImageShape, type Split } from "../../datasets/dataset.ts";
import { DOMAINS, pairedTranslation, type Translator } from "../../datasets/domains.ts";
import { datasetTestSubset } from "../../datasets/subset.ts";
import { loadDomainClassifiers } from "../../metrics/domains/classifiers.ts";
import { type MetricValue, metricValue } from "../../metrics/metric.ts";
import { psnrPerImage, ssimPerImage } from "../../metrics/reconstruction.ts";
import {
  meanAbsoluteError,
  PSNR_CAP,
  type TranslationClassifiers,
  translationScores,
} from "../../metrics/translation.ts";
import { translationGridPng, translationViewName } from "../views/translation.ts";
import { type Evaluation, jsonBytes, subsetFields } from "./context.ts";
import { lenetFits } from "./features.ts";

/** The per-pair breakdown written into the run's folder. */
export const TRANSLATION_FILE = "translation.json";

/** One direction's scores; null where the size or the protocol leaves a score out. */
export interface PairScores {
  from: string;
  to: string;
  n: number;
  label_acc: number | null;
  /** The digit reader's accuracy on the ground truth: the ceiling of label_acc. */
  truth_label_acc: number | null;
  domain_acc: number | null;
  psnr: number;
  ssim: number;
  cycle_l1: number;
  fid: number | null;
}

/** The DOMAINS index of `original`, the hub of the pairs of a many-domain model. */
const ORIGINAL = 0;

/**
 * The ordered pairs to score: both directions of two domains; for K > 2, the hub (`original`,
 * or the first domain) to every other domain, plus K − 1 of the remaining ordered pairs drawn
 * with `draw`.
 */
export function translationPairs(domains: readonly number[], draw: Stream): [number, number][] {
  if (domains.length === 2) return [[domains[0], domains[1]], [domains[1], domains[0]]];
  const hub = domains.includes(ORIGINAL) ? ORIGINAL : domains[0];
  const others = domains.filter((d) => d !== hub);
  const rest = domains.flatMap((from) =>
    from === hub ? [] : domains.filter((to) => to !== from).map((to) => [from, to])
  ) as [number, number][];
  const order = draw.permutation(rest.length);
  const sampled = Array.from(order.subarray(0, others.length), (i) => rest[i]);
  return [...others.map((to) => [hub, to] as [number, number]), ...sampled];
}

/** Digits per pair: the evaluation budget shared by the pairs, at most the whole test set. */
export function digitsPerPair(evalCount: number, testCount: number, pairs: number): number {
  return Math.max(1, Math.min(testCount, Math.ceil(evalCount / pairs)));
}

let classifiers: TranslationClassifiers | null = null;

/** The frozen classifiers, loaded (and their sha256 checked) once per process. */
function domainClassifiers(): TranslationClassifiers {
  classifiers ??= loadDomainClassifiers();
  return classifiers;
}

const mean = (values: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
};

const toUnit = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);

/**
 * Score `translate` from `from` to `to` on the digits of `test` (rows `rows` of the test split);
 * without classifiers, PSNR, SSIM and the cycle error only. Returns the images for the view.
 */
export async function scorePair(
  translate: Translator,
  test: Split,
  rows: Uint32Array,
  from: number,
  to: number,
  shape: ImageShape,
  scorers: TranslationClassifiers | null,
  withFid: boolean,
) {
  const { height, width } = shape;
  const paired = pairedTranslation(test, DOMAINS[from], DOMAINS[to], test.count, height, width);
  const n = paired.count;
  const source = toUnit(paired.source);
  const truth = toUnit(paired.target);
  const translated = await translate(source, n, from, to, rows);
  const cycled = await translate(translated, n, to, from, rows);
  const images = { source, translated, truth, cycled };
  const names = { from: DOMAINS[from].name, to: DOMAINS[to].name, n };
  if (scorers) {
    const s = await translationScores({
      count: n,
      height,
      width,
      translated,
      truth,
      labels: paired.labels,
      targetDomain: to,
      source,
      cycled,
    }, scorers);
    const scores: PairScores = {
      ...names,
      label_acc: s.labelPreservation,
      truth_label_acc: s.truthLabelAccuracy,
      domain_acc: s.targetDomainAccuracy,
      psnr: s.psnr,
      ssim: s.ssim,
      cycle_l1: s.cycleL1!,
      fid: withFid ? s.fid : null,
    };
    return { scores, images };
  }
  const d = height * width;
  const scores: PairScores = {
    ...names,
    label_acc: null,
    truth_label_acc: null,
    domain_acc: null,
    psnr: mean(psnrPerImage(translated, truth, d).map((v) => Math.min(v, PSNR_CAP))),
    ssim: mean(ssimPerImage(translated, truth, { height, width, channels: 1 })),
    cycle_l1: meanAbsoluteError(source, cycled),
    fid: null,
  };
  return { scores, images };
}

/** metrics.json's name of each per-pair score. */
const METRIC_OF: Record<string, keyof PairScores> = {
  translation_label_acc: "label_acc",
  translation_domain_acc: "domain_acc",
  translation_psnr: "psnr",
  translation_ssim: "ssim",
  translation_cycle_l1: "cycle_l1",
  translation_fid: "fid",
};

export const translationEvaluation: Evaluation = {
  name: "translation",
  metrics: Object.keys(METRIC_OF),
  appliesTo: ({ spec, model }) =>
    spec.capabilities.includes("translate") && model.translation !== undefined,
  async run({ model, dataset, config, noise, runDir, save }) {
    const { domains, translate } = model.translation!();
    const pairs = translationPairs(domains, noise("translation").child("pairs"));
    const n = digitsPerPair(config.eval_count, dataset.test.count, pairs.length);
    const subset = datasetTestSubset(dataset, n);
    const dim = dimOf(dataset.shape);
    const test: Split = {
      images: gatherRows(dataset.test.images, dim, subset.rows),
      labels: Uint8Array.from(subset.rows, (r) => dataset.test.labels[r]),
      count: subset.n,
    };
    const fits = lenetFits(dataset);
    const scorers = fits ? domainClassifiers() : null;
    const perPair: PairScores[] = [];
    for (const [from, to] of pairs) {
      const { scores, images } = await scorePair(
        translate,
        test,
        subset.rows,
        from,
        to,
        dataset.shape,
        scorers,
        config.feature_samples > 0,
      );
      perPair.push(scores);
      await save(
        join(runDir, translationViewName(scores.from, scores.to)),
        translationGridPng(images, dataset.shape, subset.n),
      );
    }
    const on = { ...subsetFields(subset), pairs: pairs.length };
    const metrics: Record<string, MetricValue> = {};
    for (const [name, key] of Object.entries(METRIC_OF)) {
      const values = perPair.map((p) => p[key] as number | null);
      if (values.some((v) => v === null || !Number.isFinite(v))) continue;
      metrics[name] = metricValue(name, mean(values as number[]), on);
    }
    await save(
      join(runDir, TRANSLATION_FILE),
      jsonBytes({
        n: subset.n,
        ...(subset.seed === null ? {} : { subset_seed: subset.seed }),
        note: fits
          ? (config.feature_samples > 0 ? "" : "FID left out: the suite has featureSamples 0")
          : `${dataset.shape.height}×${dataset.shape.width} images: the digit and domain ` +
            "classifiers read 28×28 only, so label and domain accuracy and FID are left out",
        pairs: perPair,
      }),
    );
    return metrics;
  },
};
