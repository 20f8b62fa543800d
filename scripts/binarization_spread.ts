/**
 * How much genbench's seeded static test binarization moves a test NLL: the published MNIST
 * numbers use one historic binarized file, genbench draws its own (Bernoulli, p = pixel/255,
 * BINARIZATION_SEED in datasets/build.ts). This scores one model with an exact likelihood on the
 * test set binarized with several seeds, drawn exactly as datasets/build.ts draws seed 1, and
 * prints the NLL per seed and their spread.
 *
 *   deno run -A scripts/binarization_spread.ts [--run RUN_DIR] [--seeds 1-10] [--backend wasm]
 *
 * Without `--run`: the `bernoulli` floor, fitted in closed form on the training split. With it:
 * the model, options and trained weights of that run folder (`weights.bin` of a finished run,
 * else the latest `checkpoint.bin` of an unfinished one).
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type BackendName, selectBackend } from "../core/backend.ts";
import { Stream } from "../core/rng.ts";
import { loadWeights, readCheckpoint, restoreModel } from "../core/checkpoint.ts";
import { loadMnist } from "../datasets/mnist.ts";
import { binarize } from "../datasets/build.ts";
import { dimOf } from "../datasets/dataset.ts";
import { getModel } from "../models/registry.ts";
import type { ModelOptions } from "../models/model.ts";
import { defaultOptions } from "../models/options.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    run: { type: "string" },
    seeds: { type: "string", default: "1-10" },
    backend: { type: "string", default: "wasm" },
  },
});
const [first, last] = values.seeds!.split("-").map(Number);
await selectBackend(values.backend as BackendName);
const dataset = await loadMnist();
const dim = dimOf(dataset.shape);

let modelName = "bernoulli";
let options: ModelOptions = {};
let runSeed = 1;
if (values.run) {
  const run = JSON.parse(await Deno.readTextFile(join(values.run, "run.json")));
  modelName = run.model;
  options = run.config.options;
  runSeed = run.seed;
}
const spec = getModel(modelName);
const model = spec.create({
  shape: dataset.shape,
  options: { ...defaultOptions(spec.options), ...options },
  init: Stream.derive(runSeed, "init"),
  train: dataset.train,
});
let trainedSteps = "";
if (values.run) {
  const weights = join(values.run, "weights.bin");
  const exists = await Deno.stat(weights).then(() => true, () => false);
  if (exists) {
    await loadWeights(weights, model.weights());
  } else {
    const path = join(values.run, "checkpoint.bin");
    const checkpoint = await readCheckpoint(path);
    await restoreModel(checkpoint, model, path);
    trainedSteps = ` at step ${(checkpoint.meta.run as { step: number }).step} (its checkpoint)`;
  }
}
if (!model.logProb) throw new Error(`${modelName} has no exact likelihood`);

const BATCH = 500;
const nlls: number[] = [];
for (let seed = first; seed <= last; seed++) {
  const bits = binarize(dataset.test.images, Stream.derive(seed, `${dataset.name}/binarize-test`));
  let total = 0;
  for (let start = 0; start < dataset.test.count; start += BATCH) {
    const rows = Math.min(BATCH, dataset.test.count - start);
    const x = tf.tensor2d(
      Float32Array.from(bits.subarray(start * dim, (start + rows) * dim)),
      [rows, dim],
    );
    const logp = model.logProb(x);
    for (const value of await logp.data()) total += value;
    tf.dispose([x, logp]);
  }
  nlls.push(-total / dataset.test.count);
  console.log(`seed ${seed}: ${nlls.at(-1)!.toFixed(3)} nats`);
}
const mean = nlls.reduce((s, v) => s + v, 0) / nlls.length;
const std = Math.sqrt(nlls.reduce((s, v) => s + (v - mean) ** 2, 0) / (nlls.length - 1));
console.log(
  `${modelName}${values.run ? ` (${values.run}${trainedSteps})` : ""}: ` +
    `${nlls.length} binarization seeds, ` +
    `mean ${mean.toFixed(3)}, std ${std.toFixed(3)}, min ${Math.min(...nlls).toFixed(3)}, ` +
    `max ${Math.max(...nlls).toFixed(3)} nats`,
);
model.dispose();
