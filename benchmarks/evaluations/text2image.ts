/**
 * Generation from held-out captions (capability `caption`): the model draws one image for each
 * of `feature_samples` test digits, captioned in a HELD-OUT phrasing (datasets/captions.ts) with
 * the digit and a domain, and the images are scored with metrics/captions.ts against what each
 * caption asked — the frozen digit and domain classifiers' accuracies and FID against the real
 * counterparts (the same test digits through the same domains), overall, per domain and per
 * (digit, domain) class where the counts allow. Then {@link DIVERSITY_CAPTIONS} held-out captions
 * get {@link DIVERSITY_SAMPLES} samples each: their diversity, and the `captions.png` view.
 *
 * The test digits are the suite's seeded test subset; their domains (balanced) and captions come
 * from a fixed seed, so every model and run is asked the same captions. The classifiers read
 * 28×28 images only: on other sizes only the diversity is scored, and `text2image.json` says so.
 */
import { join } from "node:path";
import { Stream } from "../../core/rng.ts";
import { captionVocabulary, encodeCaption, sampleCaption } from "../../datasets/captions.ts";
import { type Dataset, dimOf } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS } from "../../datasets/domains.ts";
import { datasetTestSubset } from "../../datasets/subset.ts";
import { CAPTION_LENGTH } from "../../models/layers/text.ts";
import { captionDiversity, captionScores } from "../../metrics/captions.ts";
import { loadDomainClassifiers } from "../../metrics/domains/classifiers.ts";
import { type MetricValue, metricValue } from "../../metrics/metric.ts";
import { captionRowsPng } from "../views/captions.ts";
import { type Evaluation, jsonBytes, subsetFields } from "./context.ts";
import { lenetFits } from "./features.ts";

/** Captions of the diversity measure and the view (one per digit), and samples of each. */
export const DIVERSITY_CAPTIONS = 10;
export const DIVERSITY_SAMPLES = 8;

/** The seed of the test captions and their domains: fixed, the same for every model and run. */
export const CAPTION_TEST_SEED = 21;

/** What was asked: digits, domains (DOMAINS indices), held-out captions and their token ids. */
export interface CaptionRequests {
  digits: Uint8Array;
  domains: Uint8Array;
  captions: string[];
  tokens: Int32Array;
}

/**
 * A held-out caption for each of `digits`: domain k mod 8 for the k-th of a seeded permutation
 * (balanced), then a test-phrasing caption of the digit in its domain, all drawn from `stream`.
 */
export function captionRequests(digits: Uint8Array, stream: Stream): CaptionRequests {
  const n = digits.length;
  const domains = Uint8Array.from(stream.permutation(n), (k) => k % DOMAINS.length);
  const captions = Array.from(
    { length: n },
    (_, i) => sampleCaption(stream, digits[i], domains[i], "test"),
  );
  const vocabulary = captionVocabulary();
  const tokens = new Int32Array(n * CAPTION_LENGTH);
  captions.forEach((c, i) =>
    tokens.set(encodeCaption(c, vocabulary, CAPTION_LENGTH), i * CAPTION_LENGTH)
  );
  return { digits, domains, captions, tokens };
}

/** Test images `rows` put through `domains` (one each), in [0, 1]. */
export function realCounterparts(
  dataset: Dataset,
  rows: ArrayLike<number>,
  domains: ArrayLike<number>,
): Float32Array {
  const { height, width } = dataset.shape;
  const d = dimOf(dataset.shape);
  const out = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const image = dataset.test.images.subarray(rows[i] * d, (rows[i] + 1) * d);
    const through = applyDomain(DOMAINS[domains[i]], image, height, width);
    for (let k = 0; k < d; k++) out[i * d + k] = through[k] / 255;
  }
  return out;
}

/** `times` copies of each caption's token ids, adjacent. */
function repeatTokens(tokens: Int32Array, times: number): Int32Array {
  const n = tokens.length / CAPTION_LENGTH;
  const out = new Int32Array(n * times * CAPTION_LENGTH);
  for (let i = 0; i < n; i++) {
    const caption = tokens.subarray(i * CAPTION_LENGTH, (i + 1) * CAPTION_LENGTH);
    for (let t = 0; t < times; t++) out.set(caption, (i * times + t) * CAPTION_LENGTH);
  }
  return out;
}

/**
 * Real samples of each requested class: `perGroup` test images of its digit (drawn from
 * `stream`) through its domain, adjacent; null where the test set has too few of a digit.
 */
function realGroups(
  dataset: Dataset,
  requests: CaptionRequests,
  perGroup: number,
  stream: Stream,
): Float32Array | null {
  const byDigit = new Map<number, number[]>();
  for (let r = 0; r < dataset.test.count; r++) {
    const digit = dataset.test.labels[r];
    if (!byDigit.has(digit)) byDigit.set(digit, []);
    byDigit.get(digit)!.push(r);
  }
  const rows: number[] = [];
  const domains: number[] = [];
  for (let i = 0; i < requests.digits.length; i++) {
    const found = byDigit.get(requests.digits[i]) ?? [];
    if (found.length < perGroup) return null;
    const order = stream.permutation(found.length);
    for (let k = 0; k < perGroup; k++) rows.push(found[order[k]]);
    domains.push(...Array(perGroup).fill(requests.domains[i]));
  }
  return realCounterparts(dataset, rows, domains);
}

export const text2imageEvaluation: Evaluation = {
  name: "text2image",
  metrics: [
    "caption_digit_acc",
    "caption_domain_acc",
    "caption_match_acc",
    "caption_fid",
    "caption_fid_domain",
    "caption_intra_fid",
    "caption_diversity",
    "caption_diversity_real",
  ],
  appliesTo: ({ spec, model }) => spec.capabilities.includes("caption") && !!model.fromCaptions,
  async run({ model, dataset, config, noise, runDir, save }) {
    const stream = noise("text2image");
    const metrics: Record<string, MetricValue> = {};
    const skipped: string[] = [];
    const report: Record<string, unknown> = {};
    const fixed = Stream.derive(CAPTION_TEST_SEED, "text2image/test-captions");
    const dim = dimOf(dataset.shape);

    // Diversity and the view: several samples of each of a few held-out captions.
    const digits = Uint8Array.from({ length: DIVERSITY_CAPTIONS }, (_, i) => i % 10);
    const asked = captionRequests(digits, fixed.child("diversity"));
    const groups = asked.captions.length;
    const samples = await model.fromCaptions!(
      repeatTokens(asked.tokens, DIVERSITY_SAMPLES),
      groups * DIVERSITY_SAMPLES,
      stream.child("diversity"),
    );
    const diversity = captionDiversity(samples, groups, DIVERSITY_SAMPLES, dim);
    metrics.caption_diversity = metricValue("caption_diversity", diversity, {
      samples: groups * DIVERSITY_SAMPLES,
    });
    const real = realGroups(dataset, asked, DIVERSITY_SAMPLES, fixed.child("real"));
    if (real) {
      metrics.caption_diversity_real = metricValue(
        "caption_diversity_real",
        captionDiversity(real, groups, DIVERSITY_SAMPLES, dim),
        { samples: groups * DIVERSITY_SAMPLES },
      );
    }
    report.view = { captions: asked.captions, samplesPerCaption: DIVERSITY_SAMPLES };
    await save(
      join(runDir, "captions.png"),
      captionRowsPng(asked.captions, samples, dataset.shape, DIVERSITY_SAMPLES),
    );

    // Accuracy and FID: one image per held-out caption of the scored test digits.
    const count = config.feature_samples;
    if (!lenetFits(dataset)) {
      skipped.push("accuracies and FID: the frozen digit and domain classifiers need 28×28 grey");
    } else if (count <= 0) {
      skipped.push("accuracies and FID: the suite scores no feature samples");
    } else {
      const subset = datasetTestSubset(dataset, count);
      const digits = Uint8Array.from(subset.rows, (r) => dataset.test.labels[r]);
      const requests = captionRequests(digits, fixed.child("scored"));
      const generated = await model.fromCaptions!(
        requests.tokens,
        subset.n,
        stream.child("scored"),
      );
      const classifiers = loadDomainClassifiers();
      try {
        const scores = await captionScores({
          count: subset.n,
          generated,
          real: realCounterparts(dataset, subset.rows, requests.domains),
          digits: requests.digits,
          domains: requests.domains,
        }, classifiers);
        const at = subsetFields(subset);
        metrics.caption_digit_acc = metricValue("caption_digit_acc", scores.digitAccuracy, at);
        metrics.caption_domain_acc = metricValue("caption_domain_acc", scores.domainAccuracy, at);
        metrics.caption_match_acc = metricValue("caption_match_acc", scores.matchAccuracy, at);
        const fids: [string, number | null][] = [
          ["caption_fid", scores.fid],
          ["caption_fid_domain", scores.domainFid],
          ["caption_intra_fid", scores.intraFid],
        ];
        for (const [name, value] of fids) {
          if (value === null) skipped.push(`${name}: too few images per group for a covariance`);
          else metrics[name] = metricValue(name, value, { ...at, samples: subset.n });
        }
        report.scored = {
          real: scores.real,
          domainFids: Object.fromEntries(DOMAINS.map((d, k) => [d.name, scores.domainFids[k]])),
          extractors: [classifiers.digit.sha256, classifiers.domain.sha256],
        };
      } finally {
        classifiers.digit.net?.dispose();
        classifiers.domain.net?.dispose();
      }
    }
    await save(join(runDir, "text2image.json"), jsonBytes({ ...report, skipped }));
    return metrics;
  },
};
