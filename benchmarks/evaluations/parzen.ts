/**
 * The Parzen-window estimate of a GAN's log-likelihood (Goodfellow et al. 2014): σ chosen on
 * validation images, log p̂ of test images, from `parzen_samples` samples. The validation and
 * test images are seeded subsets shared by every model and by the real-data row
 * (metrics/parzen.ts parzenImages); the value records its samples, n, σ and reference.
 */
import { dimOf } from "../../datasets/dataset.ts";
import { parzenImages, parzenLogLikelihood, parzenMetrics } from "../../metrics/parzen.ts";
import type { Evaluation } from "./context.ts";

export const parzenEvaluation: Evaluation = {
  name: "parzen",
  metrics: ["parzen_ll", "parzen_sigma"],
  // GANs that sample (a translator such as cyclegan has no `sample`).
  appliesTo: ({ spec, model, config }) =>
    config.parzen_samples > 0 && spec.family === "adversarial" && model.sample !== undefined,
  async run({ model, dataset, config, noise }) {
    const samples = config.parzen_samples;
    const drawn = await model.sample!(samples, noise("adversarial").child("parzen"));
    const images = parzenImages(dataset, samples);
    const parzen = parzenLogLikelihood(
      { values: drawn, count: samples },
      images.validation,
      images.test,
      dimOf(dataset.shape),
    );
    return parzenMetrics(parzen, images.testSubset);
  },
};
