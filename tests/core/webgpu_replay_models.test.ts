/**
 * Step replay (core/webgpu/stepper.ts) on every registered model beyond the five of
 * webgpu_replay.test.ts: each at its ci-suite variant on the 12×12 synthetic data, batch 8,
 * with labels where the runner passes them. 20 steps replayed give the same losses and weights
 * bit for bit as 20 steps through tfjs; a model the stepper refuses to replay (it says why)
 * must still train identically. Skipped where no WebGPU adapter exists.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../core/rng.ts";
import { inputBatch } from "../../datasets/batch.ts";
import { dimOf, type Split } from "../../datasets/dataset.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { inputKindOf } from "../../models/model.ts";
import { defaultOptions } from "../../models/options.ts";
import { MODELS } from "../../models/registry.ts";
import { entryOf, getSuite } from "../../benchmarks/suites.ts";
import {
  assertReplayMatches,
  type ReplayModel,
  type StepInputs,
  webgpuTest,
  withKernels,
} from "./_webgpu.ts";

const BATCH = 8;
/** Covered, at other sizes, by webgpu_replay.test.ts. */
const ELSEWHERE = new Set(["vae-mlp", "made", "gan-mlp", "vae-conv", "dcgan"]);

const data = syntheticDataset();
const ci = getSuite("ci");

/** The model at its ci variant, and the batches (with labels where the runner passes them). */
function setUp(name: string): { makeModel: () => ReplayModel; inputs: StepInputs } {
  const spec = MODELS.find((m) => m.name === name)!;
  const options = {
    ...defaultOptions(spec.options),
    ...entryOf(ci, name).options,
    batchSize: BATCH,
  };
  const split: Split = spec.trainingSplit
    ? spec.trainingSplit(data.train, data.shape, options)
    : data.train;
  const makeModel = () =>
    spec.create({
      shape: data.shape,
      options,
      init: Stream.derive(1, "init"),
      train: split,
    }) as unknown as ReplayModel;
  const withLabels = spec.capabilities.includes("conditional") || spec.trainingSplit;
  const kind = inputKindOf(spec, options);
  const order = Stream.derive(1, "order").permutation(split.count);
  const inputs = (i: number) => {
    const from = (i * BATCH) % (split.count - BATCH);
    const rows = order.subarray(from, from + BATCH);
    const binarize = Stream.derive(1, `bin/${i}`);
    return {
      x: inputBatch(split.images, null, dimOf(data.shape), rows, kind, binarize),
      labels: withLabels
        ? tf.tensor1d(Int32Array.from(rows, (r) => split.labels[r]), "int32")
        : undefined,
    };
  };
  return { makeModel, inputs };
}

const names = MODELS.map((m) => m.name).filter((n) => !ELSEWHERE.has(n));
for (const name of names) {
  webgpuTest(`${name}: 20 replayed steps = 20 steps through tfjs, bit for bit`, async () => {
    const { makeModel, inputs } = setUp(name);
    const note = await withKernels(() => assertReplayMatches(makeModel, inputs, false));
    // A refusal must say why (and the bits must still agree).
    if (note !== null) console.log(`${name}: not replayed: ${note}`);
  });
}
