/**
 * The AIS estimate of log p(x) of a generator under a Gaussian observation model of fixed σ
 * (Wu et al. 2017), averaged over `ais_count` test images (a seeded subset): log p(x|y) for a
 * class-conditional generator; for a generator with a discrete latent code (InfoGAN's
 * categorical code, which its decoder takes through `labels`), log p(x) = log (1/K) Σ_c p(x|c),
 * one AIS run per value of the code. Each AIS estimate of p(x|c) is unbiased, so their mean is
 * too, and its log is a stochastic lower bound like a single AIS run's.
 */
import { dimOf } from "../../datasets/dataset.ts";
import type { LatentDecoder } from "../../models/model.ts";
import { metricValue } from "../../metrics/metric.ts";
import { aisOverImages } from "../../metrics/ais.ts";
import { type Evaluation, subsetFields, testImages } from "./context.ts";

/** The observation noise of AIS's Gaussian decoder model (Wu et al. 2017 use 0.025–0.1). */
export const AIS_SIGMA = 0.1;

/** A decoder whose `labels` select a discrete latent code with `categories` values. */
type CodedDecoder = LatentDecoder & { categories?: number };

/** log (1/K) Σ_c exp(rows[c][i]) for every i. */
function logMeanExp(rows: Float64Array[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const max = Math.max(...rows.map((r) => r[i]));
    const sum = rows.reduce((total, r) => total + Math.exp(r[i] - max), 0);
    out[i] = max + Math.log(sum / rows.length);
  }
  return out;
}

export const aisEvaluation: Evaluation = {
  name: "ais",
  metrics: ["ais_ll", "ais_sigma"],
  appliesTo: ({ spec, model, config }) =>
    config.ais_count > 0 && spec.family === "adversarial" && !!model.generator,
  async run({ spec, model, dataset, config, noise }) {
    const conditional = spec.capabilities.includes("conditional");
    const dim = dimOf(dataset.shape);
    const test = testImages(dataset, "grey", config.ais_count);
    const n = test.subset.n;
    const images = test.values;
    const adversarial = noise("adversarial");
    const decoder: CodedDecoder = model.generator!(adversarial.child("ais-generator"));
    const stream = adversarial.child("ais");
    try {
      let logp: Float64Array;
      if (conditional) {
        const labels = Int32Array.from(test.labels);
        logp = await aisOverImages(decoder, images, n, dim, AIS_SIGMA, stream, {}, labels);
      } else if (decoder.categories) {
        const perCode: Float64Array[] = [];
        for (let c = 0; c < decoder.categories; c++) {
          const labels = new Int32Array(n).fill(c);
          const codeStream = stream.child(`code-${c}`);
          perCode.push(
            await aisOverImages(decoder, images, n, dim, AIS_SIGMA, codeStream, {}, labels),
          );
        }
        logp = logMeanExp(perCode, n);
      } else {
        logp = await aisOverImages(decoder, images, n, dim, AIS_SIGMA, stream, {});
      }
      return {
        ais_ll: metricValue("ais_ll", logp.reduce((a, b) => a + b, 0) / n, {
          kind: "ais",
          ...subsetFields(test.subset),
        }),
        ais_sigma: metricValue("ais_sigma", AIS_SIGMA),
      };
    } finally {
      decoder.dispose();
    }
  },
};
