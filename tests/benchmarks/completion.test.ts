import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { decode } from "fast-png";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { drawPatchPositions, keyPositions, patchMasks } from "../../datasets/patches.ts";
import { getModel } from "../../models/registry.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { defaultOptions } from "../../models/options.ts";
import { completionScores, PSNR_CAP } from "../../metrics/completion.ts";
import { completeSources, completionEvaluation } from "../../benchmarks/evaluations/completion.ts";
import type { EvaluationContext } from "../../benchmarks/evaluations/context.ts";
import { freshStreams } from "../../benchmarks/train_state.ts";
import { minimalProtocol } from "./_protocol.ts";

await selectBackend("cpu");

const DATASET = syntheticDataset(); // 12×12
const SHAPE = DATASET.shape;
const OPTIONS = { width: 4, patches: 2, candidates: 4, patchSize: 4, margin: 1, batchSize: 16 };

/** A trained-for-two-steps puzzle-gan and its evaluation context on the synthetic data. */
function contextFor(seed: number, files: Map<string, Uint8Array>): EvaluationContext {
  const spec = getModel("puzzle-gan");
  const model = spec.create({
    shape: SHAPE,
    options: { ...defaultOptions(spec.options), ...OPTIONS },
    init: Stream.derive(seed, "init"),
  });
  const noise = Stream.derive(seed, "train");
  for (let step = 0; step < 2; step++) {
    const x = tf.tensor2d(
      Float32Array.from(
        DATASET.train.images.subarray(step * 16 * 144, (step + 1) * 16 * 144),
        (v) => v / 255,
      ),
      [16, 144],
    );
    tf.dispose([x, ...Object.values(model.trainStep(x, noise))]);
  }
  const streams = freshStreams(seed);
  return {
    spec,
    model,
    dataset: DATASET,
    kind: "grey",
    config: { ...minimalProtocol(10), input: "grey", recon_count: 40 },
    streams,
    noise: (name) => streams.evaluation.child("extras").child(name),
    runDir: "/run",
    save: (path, bytes) => Promise.resolve(void files.set(path.split("/").pop()!, bytes)),
  };
}

Deno.test("completion evaluation: PSNR, SSIM and mask IoU at 12×12, the view, same seed same metrics", async () => {
  const files = new Map<string, Uint8Array>();
  const context = contextFor(1, files);
  assert.ok(completionEvaluation.appliesTo(context));
  const metrics = await completionEvaluation.run(context);
  // No LeNet at 12×12: no label accuracy, no FID.
  assert.deepEqual(Object.keys(metrics).sort(), [
    "completion_mask_iou",
    "completion_psnr",
    "completion_ssim",
  ]);
  assert.equal(metrics.completion_psnr.n, 40);
  assert.ok(metrics.completion_mask_iou.value >= 0 && metrics.completion_mask_iou.value <= 1);
  // The view: 8 rows of K + 3 = 5 cells of 13 pixels (+1 border), scale 2.
  const png = decode(files.get("completion.png")!);
  assert.deepEqual([png.width, png.height], [(5 * 13 + 1) * 2, (8 * 13 + 1) * 2]);
  // Not for a model without the capability, nor without test images to complete.
  assert.equal(completionEvaluation.appliesTo({ ...context, config: minimalProtocol(10) }), false);
  const again = contextFor(1, new Map());
  assert.deepEqual(await completionEvaluation.run(again), metrics);
  context.model.dispose();
  again.model.dispose();
});

Deno.test("completion: an oracle (source image, true mask) through the evaluation's cut scores perfectly", async () => {
  const n = 30;
  const layout = { count: 3, candidates: 6, size: 4, margin: 1 };
  const sources = Float32Array.from(DATASET.test.images.subarray(0, n * 144), (v) => v / 255);
  const stream = Stream.derive(5, "completion");
  // The oracle knows the sources and redraws the evaluation's positions from the same stream.
  const oracle: GenerativeModel["complete"] = (_patches, count) => {
    const candidates = drawPatchPositions(stream.child("positions"), count, layout, SHAPE);
    const key = keyPositions(sources, count, candidates, layout, SHAPE);
    return Promise.resolve({
      images: sources.slice(),
      masks: patchMasks(key, count, layout, SHAPE),
    });
  };
  const done = await completeSources(oracle, sources, n, SHAPE, layout, stream);
  const scores = await completionScores({ count: n, shape: SHAPE, sources, ...done });
  assert.equal(scores.psnr, PSNR_CAP);
  assert.ok(Math.abs(scores.ssim - 1) < 1e-9);
  assert.equal(scores.maskIoU, 1);
  // The patches it was given are the sources' pixels under the true masks, K·P² of them each.
  assert.equal(done.patches.length, n * 3 * 16);
});
