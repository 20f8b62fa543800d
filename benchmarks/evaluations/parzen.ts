/**
 * The Parzen-window estimate of a GAN's log-likelihood (Goodfellow et al. 2014): σ chosen on
 * validation images, log p̂ of test images, from `parzen_samples` samples.
 */
import { dimOf } from "../../datasets/dataset.ts";
import { metricValue } from "../../metrics/metric.ts";
import { parzenLogLikelihood } from "../../metrics/parzen.ts";
import { bytesToGrey } from "../../metrics/features/classifier.ts";
import type { Evaluation } from "./context.ts";

export const parzenEvaluation: Evaluation = {
  name: "parzen",
  metrics: ["parzen_ll", "parzen_sigma"],
  appliesTo: ({ spec, config }) => config.parzen_samples > 0 && spec.family === "adversarial",
  async run({ model, dataset, config, noise }) {
    const samples = config.parzen_samples;
    const dim = dimOf(dataset.shape);
    const drawn = await model.sample(samples, noise("adversarial").child("parzen"));
    const rows = (images: Uint8Array, count: number) => {
      const n = Math.min(samples, count);
      return { values: bytesToGrey(images.subarray(0, n * dim)), count: n };
    };
    const parzen = parzenLogLikelihood(
      { values: drawn, count: samples },
      rows(dataset.valid.images, dataset.valid.count),
      rows(dataset.test.images, dataset.test.count),
      dim,
    );
    return {
      parzen_ll: metricValue("parzen_ll", parzen.logLikelihood, { kind: "parzen" }),
      parzen_sigma: metricValue("parzen_sigma", parzen.sigma),
    };
  },
};
