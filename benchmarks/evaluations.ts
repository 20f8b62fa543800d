/**
 * Evaluations beyond the likelihoods of `metrics/evaluate.ts`, each run for the models that can
 * take it: reconstructions and latent views (encoder/decoder models), generator views and the
 * Parzen estimate (adversarial models), and feature-based metrics of samples (every sampler, on
 * 28×28 data where the frozen LeNet applies). Each returns metric values and writes its PNGs.
 */
import { join } from "node:path";
import { Stream } from "../core/rng.ts";
import { BINARIZATION_SEED, binarize } from "../datasets/build.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import { encodeIdx } from "../datasets/idx.ts";
import type { GenerativeModel, InputKind, ModelSpec } from "../models/model.ts";
import { type MetricValue, metricValue } from "../metrics/metric.ts";
import { collectPosterior, summarizeReconstruction } from "../metrics/reconstruction.ts";
import { parzenLogLikelihood } from "../metrics/parzen.ts";
import { aisOverImages } from "../metrics/ais.ts";
import { featureMetricsFrom } from "../metrics/features/evaluate.ts";
import {
  bytesToGrey,
  type ExtractedFeatures,
  extractFeatures,
  type FeatureExtractor,
  loadLenet,
} from "../metrics/features/classifier.ts";
import { writeLatentViews } from "../reports/latent.ts";
import { ganViews } from "../reports/gan_views.ts";

/** Writes one file of the run folder atomically. */
export type Save = (path: string, bytes: Uint8Array) => Promise<void>;

/** Rows of the test split in a model's input units scaled to [0, 1]. */
function testRows(dataset: Dataset, kind: InputKind, count: number): Float32Array {
  const n = Math.min(count, dataset.test.count) * dimOf(dataset.shape);
  if (kind === "binary") return Float32Array.from(dataset.testBinary.subarray(0, n));
  return bytesToGrey(dataset.test.images.subarray(0, n));
}

/**
 * Reconstruction quality at the posterior mean (BCE, MSE, PSNR, SSIM), active units, and the
 * latent views (reconstructions, interpolation, traversals, manifold grid for 2-D latents).
 */
export async function reconstructionEvaluation(
  spec: ModelSpec,
  model: GenerativeModel,
  dataset: Dataset,
  kind: InputKind,
  count: number,
  runDir: string,
  save: Save,
): Promise<Record<string, MetricValue>> {
  if (count <= 0 || !spec.capabilities.includes("reconstruct") || !model.encode || !model.decode) {
    return {};
  }
  const n = Math.min(count, dataset.test.count);
  const data = testRows(dataset, kind, n);
  const labels = spec.capabilities.includes("conditional")
    ? Int32Array.from(dataset.test.labels.subarray(0, n))
    : undefined;
  const stats = await collectPosterior(model, data, n, dimOf(dataset.shape), 250, labels);
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
    await save(
      join(runDir, "latent.json"),
      new TextEncoder().encode(JSON.stringify({ kl_per_dim: summary.klPerDim }, null, 2) + "\n"),
    );
  }
  const dim = dimOf(dataset.shape);
  const viewCount = Math.min(16, n);
  await writeLatentViews(model, runDir, data.subarray(0, viewCount * dim), dataset.shape, {
    labels: labels?.subarray(0, viewCount),
    count: Math.min(10, viewCount),
  });
  return metrics;
}

/** The observation noise of AIS's Gaussian decoder model (Wu et al. 2017 use 0.025–0.1). */
export const AIS_SIGMA = 0.1;

/**
 * Interpolation strips and code grids of a generator, the Parzen estimate of a GAN, and the AIS
 * estimate of log p(x) (log p(x|y) for a class-conditional GAN) under a Gaussian observation model.
 */
export async function adversarialEvaluation(
  spec: ModelSpec,
  model: GenerativeModel,
  dataset: Dataset,
  counts: { parzenSamples: number; aisCount: number },
  noise: Stream,
  runDir: string,
  save: Save,
): Promise<Record<string, MetricValue>> {
  if (spec.family !== "adversarial") return {};
  const conditional = spec.capabilities.includes("conditional");
  const views = await ganViews(model, dataset.shape, noise.child("views"), {
    classes: conditional ? dataset.classes : 0,
  });
  for (const [name, png] of Object.entries(views)) await save(join(runDir, name), png);
  const metrics: Record<string, MetricValue> = {};
  const dim = dimOf(dataset.shape);
  // InfoGAN's generator also takes its latent codes; its AIS would need a sum over them.
  if (counts.aisCount > 0 && model.generator && spec.name !== "infogan") {
    const n = Math.min(counts.aisCount, dataset.test.count);
    const images = bytesToGrey(dataset.test.images.subarray(0, n * dim));
    const labels = conditional ? Int32Array.from(dataset.test.labels.subarray(0, n)) : undefined;
    const decoder = model.generator(noise.child("ais-generator"));
    try {
      const logp = await aisOverImages(
        decoder,
        images,
        n,
        dim,
        AIS_SIGMA,
        noise.child("ais"),
        {},
        labels,
      );
      metrics.ais_ll = metricValue("ais_ll", logp.reduce((a, b) => a + b, 0) / n, { kind: "ais" });
      metrics.ais_sigma = metricValue("ais_sigma", AIS_SIGMA);
    } finally {
      decoder.dispose();
    }
  }
  const samples = counts.parzenSamples;
  if (samples <= 0) return metrics;
  // Goodfellow et al. 2014: σ chosen on validation images, log p̂ of test images.
  const drawn = await model.sample(samples, noise.child("parzen"));
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
  metrics.parzen_ll = metricValue("parzen_ll", parzen.logLikelihood, { kind: "parzen" });
  metrics.parzen_sigma = metricValue("parzen_sigma", parzen.sigma);
  return metrics;
}

/** The frozen extractor and the test/train features of one dataset in one representation. */
interface FeatureReference {
  extractor: FeatureExtractor;
  reference: ExtractedFeatures;
  train: ExtractedFeatures;
}

// Extracting 20,000 reference images costs ~25 s on a CPU: do it once per dataset and
// representation in a process, not once per model.
const references = new Map<string, Promise<FeatureReference>>();

function featureReference(dataset: Dataset, kind: InputKind): Promise<FeatureReference> {
  const key = `${dataset.fingerprint}/${kind === "binary" ? "binary" : "grey"}`;
  if (!references.has(key)) {
    references.set(
      key,
      (async () => {
        const extractor = loadLenet();
        const dim = dimOf(dataset.shape);
        const trainCount = Math.min(10_000, dataset.train.count);
        const trainBytes = dataset.train.images.subarray(0, trainCount * dim);
        // The training images in the same representation as the test images.
        const train = kind === "binary"
          ? Float32Array.from(
            binarize(trainBytes, Stream.derive(BINARIZATION_SEED, "features-train")),
          )
          : bytesToGrey(trainBytes);
        return {
          extractor,
          reference: await extractFeatures(
            extractor,
            testRows(dataset, kind, dataset.test.count),
            dataset.test.count,
          ),
          train: await extractFeatures(extractor, train, trainCount),
        };
      })(),
    );
  }
  return references.get(key)!;
}

/**
 * The feature-based metrics (FID, KID, precision/recall, IS, class entropy, label accuracy,
 * memorization) of `protocol.samples` model samples against the test set, in the frozen LeNet's
 * feature space. Samples are compared with test images in the representation the model learned
 * (the static binarization for binary models, grey levels otherwise).
 */
export async function featureEvaluation(
  spec: ModelSpec,
  model: GenerativeModel,
  dataset: Dataset,
  kind: InputKind,
  protocol: { samples: number; kidSubsets: number },
  noise: Stream,
  runDir: string,
  save: Save,
): Promise<{ metrics: Record<string, MetricValue>; extractor: unknown; skipped: string[] }> {
  const { height, width, channels } = dataset.shape;
  const none = { metrics: {}, extractor: null, skipped: [] };
  if (protocol.samples <= 0 || !spec.capabilities.includes("sample")) return none;
  if (height !== 28 || width !== 28 || channels !== 1) {
    return { ...none, skipped: ["feature metrics: the frozen LeNet needs 28×28 grey images"] };
  }
  const { extractor, reference, train } = await featureReference(dataset, kind);
  const labels = spec.capabilities.includes("conditional")
    ? Int32Array.from({ length: protocol.samples }, (_, i) => i % dataset.classes)
    : undefined;
  const drawn = await model.sample(protocol.samples, noise.child("samples"), labels);
  const unit = kind === "byte" ? drawn.map((v) => v / 255) : drawn;
  // The scored samples, so `deno task score` can re-score them with another extractor.
  const bytes = Uint8Array.from(unit, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
  await save(join(runDir, "samples.idx"), encodeIdx([protocol.samples, height, width], bytes));
  const samples = await extractFeatures(extractor, unit, protocol.samples);
  const result = featureMetricsFrom(samples, reference, noise.child("kid"), {
    kidSubsets: protocol.kidSubsets,
  }, { train, labels, extractorName: extractor.name });
  return { metrics: result.metrics, extractor: result.extractor, skipped: result.skipped };
}
