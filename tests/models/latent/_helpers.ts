/** Shared helpers for the latent-variable model tests: tiny data and a short training loop. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../../core/rng.ts";
import { syntheticDataset } from "../../../datasets/synthetic.ts";
import { inputBatch } from "../../../datasets/batch.ts";
import type { GenerativeModel, ModelSpec } from "../../../models/model.ts";
import { defaultOptions } from "../../../models/options.ts";

/** The 12×12 synthetic data set (fits the conv nets: 12 → 6 → 3). */
export const SYNTH = syntheticDataset();
export const SHAPE = SYNTH.shape;
export const DIMS = SHAPE.height * SHAPE.width * SHAPE.channels;

export function build(spec: ModelSpec, options = {}, seed = 1, shape = SHAPE): GenerativeModel {
  return spec.create({
    shape,
    options: { ...defaultOptions(spec.options), ...options },
    init: Stream.derive(seed, "init"),
  });
}

/** `n` samples of `model` are 0/1 images of the data's size. */
export async function assertBinarySamples(model: GenerativeModel, n: number): Promise<void> {
  const samples = await model.sample!(n, Stream.derive(1, "s"));
  assert.equal(samples.length, n * DIMS);
  assert.ok(samples.every((v) => v === 0 || v === 1));
}

/** The first n static-binarized test images (and labels) as tensors. */
export function testBatch(n: number): { x: tf.Tensor2D; labels: tf.Tensor1D } {
  const rows = Array.from({ length: n }, (_, i) => i);
  const x = inputBatch(SYNTH.test.images, SYNTH.testBinary, DIMS, rows, "binary", null);
  const labels = tf.tensor1d(Int32Array.from(rows, (r) => SYNTH.test.labels[r]), "int32");
  return { x, labels };
}

/** `steps` training steps on dynamically binarized batches; returns the last losses read. */
export async function train(
  model: GenerativeModel,
  steps: number,
  batchSize = 32,
  seed = 1,
  conditional = false,
): Promise<Record<string, number>> {
  const order = Stream.derive(seed, "order");
  const binarizer = Stream.derive(seed, "binarize");
  const noise = Stream.derive(seed, "noise");
  let last: Record<string, number> = {};
  for (let step = 0; step < steps; step++) {
    const rows = Array.from({ length: batchSize }, () => order.int(SYNTH.train.count));
    const x = inputBatch(SYNTH.train.images, null, DIMS, rows, "binary", binarizer);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => SYNTH.train.labels[r]), "int32")
      : undefined;
    const losses = model.trainStep(x, noise, labels);
    if (step === steps - 1) {
      last = {};
      for (const [name, value] of Object.entries(losses)) last[name] = (await value.data())[0];
    }
    for (const value of Object.values(losses)) value.dispose();
    x.dispose();
    labels?.dispose();
  }
  return last;
}

/** Mean of a tensor's values, disposing it. */
export async function meanOf(t: tf.Tensor): Promise<number> {
  const v = await t.data();
  t.dispose();
  return Array.from(v).reduce((a, b) => a + b, 0) / v.length;
}
