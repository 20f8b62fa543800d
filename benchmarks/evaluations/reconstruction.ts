/**
 * Reconstruction quality at the posterior mean (BCE, MSE, PSNR, SSIM), active units, and the
 * latent views (reconstructions, interpolation, traversals, manifold grid for 2-D latents) of
 * encoder–decoder models, on `recon_count` test images (a seeded subset where that is fewer than
 * the test set). `recon_bce`/`recon_mse` are the same quantity for every such model, VAEs
 * included; the ELBO's sampled-z term is `elbo_recon_nats` (./likelihood.ts).
 */
import { join } from "node:path";
import { dimOf } from "../../datasets/dataset.ts";
import { type MetricValue, metricValue } from "../../metrics/metric.ts";
import { collectPosterior, summarizeReconstruction } from "../../metrics/reconstruction.ts";
import { writeLatentViews } from "../views/latent.ts";
import { RUN_FILES } from "../record.ts";
import { type Evaluation, jsonBytes, subsetFields, testImages } from "./context.ts";

export const reconstructionEvaluation: Evaluation = {
  name: "reconstruction",
  metrics: ["recon_psnr", "recon_ssim", "active_units", "recon_bce", "recon_mse"],
  appliesTo: ({ spec, model, config }) =>
    config.recon_count > 0 && spec.capabilities.includes("reconstruct") && !!model.encode &&
    !!model.decode,
  async run({ spec, model, dataset, kind, config, runDir, save, noise }) {
    const images = testImages(dataset, kind, config.recon_count);
    const n = images.subset.n;
    const data = images.values;
    const labels = spec.capabilities.includes("conditional")
      ? Int32Array.from(images.labels)
      : undefined;
    const dim = dimOf(dataset.shape);
    const stats = await collectPosterior(model, data, n, dim, 250, labels);
    const summary = summarizeReconstruction(data, stats, dataset.shape);
    const on = subsetFields(images.subset);
    const metrics: Record<string, MetricValue> = {
      recon_psnr: metricValue("recon_psnr", summary.psnr, on),
      active_units: metricValue("active_units", summary.activeUnits, on),
    };
    if (Number.isFinite(summary.ssim)) {
      metrics.recon_ssim = metricValue("recon_ssim", summary.ssim, on);
    }
    metrics.recon_bce = metricValue("recon_bce", summary.bce, on);
    metrics.recon_mse = metricValue("recon_mse", summary.mse, on);
    if (summary.klPerDim) {
      await save(join(runDir, RUN_FILES.latent), jsonBytes({ kl_per_dim: summary.klPerDim }));
    }
    const viewCount = Math.min(16, n);
    await writeLatentViews(model, runDir, data.subarray(0, viewCount * dim), dataset.shape, {
      labels: labels?.subarray(0, viewCount),
      count: Math.min(10, viewCount),
      prior: noise("latent-views"),
    });
    return metrics;
  },
};
