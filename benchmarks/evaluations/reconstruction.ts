/**
 * Reconstruction quality at the posterior mean (BCE, MSE, PSNR, SSIM), active units, and the
 * latent views (reconstructions, interpolation, traversals, manifold grid for 2-D latents) of
 * encoder–decoder models.
 */
import { join } from "node:path";
import { dimOf } from "../../datasets/dataset.ts";
import { type MetricValue, metricValue } from "../../metrics/metric.ts";
import { collectPosterior, summarizeReconstruction } from "../../metrics/reconstruction.ts";
import { writeLatentViews } from "../../reports/latent.ts";
import { RUN_FILES } from "../record.ts";
import { type Evaluation, jsonBytes, testRows } from "./context.ts";

export const reconstructionEvaluation: Evaluation = {
  name: "reconstruction",
  metrics: ["recon_psnr", "recon_ssim", "active_units", "recon_bce", "recon_mse"],
  appliesTo: ({ spec, model, config }) =>
    config.recon_count > 0 && spec.capabilities.includes("reconstruct") && !!model.encode &&
    !!model.decode,
  async run({ spec, model, dataset, kind, config, runDir, save, noise }) {
    const n = Math.min(config.recon_count, dataset.test.count);
    const data = testRows(dataset, kind, n);
    const labels = spec.capabilities.includes("conditional")
      ? Int32Array.from(dataset.test.labels.subarray(0, n))
      : undefined;
    const dim = dimOf(dataset.shape);
    const stats = await collectPosterior(model, data, n, dim, 250, labels);
    const summary = summarizeReconstruction(data, stats, dataset.shape);
    const metrics: Record<string, MetricValue> = {
      recon_psnr: metricValue("recon_psnr", summary.psnr),
      active_units: metricValue("active_units", summary.activeUnits),
    };
    if (Number.isFinite(summary.ssim)) metrics.recon_ssim = metricValue("recon_ssim", summary.ssim);
    // Models without an ELBO (ae, aae) get their reconstruction error here; the VAEs keep the
    // ELBO's reconstruction term, a different quantity (a sampled z, not the posterior mean).
    if (!spec.capabilities.includes("elbo")) {
      metrics.recon_bce = metricValue("recon_bce", summary.bce);
      metrics.recon_mse = metricValue("recon_mse", summary.mse);
    }
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
