/**
 * Completion from key patches (capability `complete`): the K key patches of test images (the
 * squares with the most ink among C drawn from this evaluation's own stream; datasets/patches.ts,
 * the layout the model declares) are cut, the model completes the whole images and predicts where the patches belong, and
 * metrics/completion.ts scores them against the sources and the true masks: PSNR, SSIM, mask IoU
 * and (28×28) the frozen LeNet's label accuracy on `recon_count` test images (a seeded subset
 * where fewer than the test set), and the FID of the completions of `feature_samples` test
 * images against the grey test set. Writes the view completion.png (benchmarks/views).
 */
import { join } from "node:path";
import type { ImageShape } from "../../datasets/dataset.ts";
import {
  cutPatches,
  drawPatchPositions,
  keyPositions,
  type PatchLayout,
  patchMasks,
} from "../../datasets/patches.ts";
import type { Stream } from "../../core/rng.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { completionScores } from "../../metrics/completion.ts";
import { extractFeatures, loadLenet } from "../../metrics/features/classifier.ts";
import { fid } from "../../metrics/features/fid.ts";
import { type MetricValue, metricValue } from "../../metrics/metric.ts";
import { COMPLETION_VIEW, completionViewPng } from "../views/completion.ts";
import { type Evaluation, subsetFields, testImages } from "./context.ts";
import { featureReference, lenetFits, referenceOf } from "./features.ts";

/** Rows of the completion view. */
const VIEW_ROWS = 8;

/** What completing `n` source images from their patches gives. */
export interface Completion {
  positions: Int32Array;
  patches: Float32Array;
  trueMasks: Float32Array;
  completed: Float32Array;
  masks: Float32Array;
}

/**
 * Cut the K key patches of each of `n` sources (among C candidate squares drawn from `stream`'s
 * child "positions") and complete them with the model (its noise: child "model").
 */
export async function completeSources(
  complete: NonNullable<GenerativeModel["complete"]>,
  sources: Float32Array,
  n: number,
  shape: ImageShape,
  layout: PatchLayout,
  stream: Stream,
): Promise<Completion> {
  const candidates = drawPatchPositions(stream.child("positions"), n, layout, shape);
  const positions = keyPositions(sources, n, candidates, layout, shape);
  const patches = cutPatches(sources, n, positions, layout, shape);
  const trueMasks = patchMasks(positions, n, layout, shape);
  const { images, masks } = await complete(patches, n, stream.child("model"));
  return { positions, patches, trueMasks, completed: images, masks };
}

export const completionEvaluation: Evaluation = {
  name: "completion",
  metrics: [
    "completion_psnr",
    "completion_ssim",
    "completion_mask_iou",
    "completion_label_acc",
    "completion_fid",
  ],
  appliesTo: ({ spec, model, config }) =>
    spec.capabilities.includes("complete") && !!model.complete && !!model.patchLayout &&
    (config.recon_count > 0 || config.feature_samples > 0),
  async run({ model, dataset, kind, config, noise, runDir, save }) {
    const stream = noise("completion");
    const layout = model.patchLayout!;
    const complete = model.complete!.bind(model);
    const shape = dataset.shape;
    const metrics: Record<string, MetricValue> = {};
    if (config.recon_count > 0) {
      const images = testImages(dataset, kind, config.recon_count);
      const n = images.subset.n;
      const done = await completeSources(
        complete,
        images.values,
        n,
        shape,
        layout,
        stream.child("scores"),
      );
      const scores = await completionScores(
        { count: n, shape, sources: images.values, labels: images.labels, ...done },
        lenetFits(dataset) ? loadLenet() : undefined,
      );
      const on = subsetFields(images.subset);
      metrics.completion_psnr = metricValue("completion_psnr", scores.psnr, on);
      if (Number.isFinite(scores.ssim)) {
        metrics.completion_ssim = metricValue("completion_ssim", scores.ssim, on);
      }
      metrics.completion_mask_iou = metricValue("completion_mask_iou", scores.maskIoU, on);
      if (scores.labelAccuracy !== null) {
        metrics.completion_label_acc = metricValue(
          "completion_label_acc",
          scores.labelAccuracy,
          on,
        );
      }
      const view = { rows: Math.min(VIEW_ROWS, n), sources: images.values, ...done };
      await save(join(runDir, COMPLETION_VIEW), completionViewPng(view, layout, shape));
    }
    if (config.feature_samples > 0 && lenetFits(dataset)) {
      const count = Math.min(config.feature_samples, dataset.test.count);
      const images = testImages(dataset, kind, count);
      const referenceName = referenceOf(kind);
      const { extractor, reference } = await featureReference(dataset, referenceName);
      // Fewer images than features leave the covariance singular: no FID.
      if (count > extractor.featureDim) {
        const done = await completeSources(
          complete,
          images.values,
          count,
          shape,
          layout,
          stream.child("fid"),
        );
        const features = await extractFeatures(extractor, done.completed, count);
        metrics.completion_fid = metricValue("completion_fid", fid(features, reference), {
          ...subsetFields(images.subset),
          samples: count,
          reference: referenceName,
        });
      }
    }
    return metrics;
  },
};
