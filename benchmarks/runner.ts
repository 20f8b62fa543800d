/**
 * The runner: train → evaluate on the static test set → record. Each run writes
 * `<out>/runs/<run-id>/` with `run.json` (provenance and config), `curves.jsonl` (one line per
 * logged step), `metrics.json` and `samples.png`; a suite also writes `<out>/summary.md`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { Stream } from "../core/rng.ts";
import type { BackendInfo } from "../core/backend.ts";
import { provenance } from "../core/provenance.ts";
import { Progress } from "../core/progress.ts";
import { writeFileAtomic, writeJsonAtomic } from "../core/files.ts";
import { saveWeights } from "../core/checkpoint.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import { inputBatch } from "../datasets/batch.ts";
import {
  type GenerativeModel,
  type InputKind,
  inputKindOf,
  type ModelOptions,
  type ModelSpec,
  parameterCount,
} from "../models/model.ts";
import { bitsPerDim, type MetricValue, metricValue } from "../metrics/metric.ts";
import { type EvalSums, evaluate } from "../metrics/evaluate.ts";
import { gridPng } from "../reports/grid.ts";
import type { Suite, SuiteEntry } from "./suites.ts";

/** Everything that determines one run. */
export interface RunPlan {
  suite: Suite;
  entry: SuiteEntry;
  spec: ModelSpec;
  seed: number;
  /** The model's defaults, overridden by the suite entry. */
  options: ModelOptions;
}

/** The `metrics.json` of a run. */
export interface MetricsFile {
  model: string;
  variant: string | null;
  dataset: string;
  seed: number;
  backend: string;
  suite: string;
  run_id: string;
  status: "finished" | "diverged";
  metrics: Record<string, MetricValue>;
}

/** Resolve a suite entry into a plan. */
export function planRun(suite: Suite, entry: SuiteEntry, spec: ModelSpec, seed: number): RunPlan {
  return { suite, entry, spec, seed, options: { ...spec.defaults, ...entry.options } };
}

/** The run's folder name: model, variant, dataset, seed and the suite's start time. */
export function runId(plan: RunPlan, dataset: Dataset, stamp: string): string {
  const variant = plan.entry.variant ? `-${plan.entry.variant}` : "";
  return `${plan.spec.name}${variant}-${dataset.name}-seed${plan.seed}-${stamp}`;
}

/** Train, evaluate and record one run. Returns its metrics file. */
export async function runOne(
  plan: RunPlan,
  dataset: Dataset,
  backend: BackendInfo,
  runDir: string,
  quiet = false,
): Promise<MetricsFile> {
  const { spec, options, seed } = plan;
  const kind = inputKindOf(spec, options);
  const dim = dimOf(dataset.shape);
  const batchSize = Number(options.batchSize);
  const label = `[${spec.name}${
    plan.entry.variant ? ` (${plan.entry.variant})` : ""
  } seed ${seed}]`;
  const progress = new Progress(label, plan.entry.steps, quiet);
  const streams = {
    data: Stream.derive(seed, "data-order"),
    binarize: Stream.derive(seed, "train-binarization"),
    train: Stream.derive(seed, "train-noise"),
    evaluation: Stream.derive(seed, "eval-noise"),
    sample: Stream.derive(seed, "sample"),
  };
  const id = runDir.split(/[\\/]/).pop()!;
  await Deno.mkdir(runDir, { recursive: true });
  const record = {
    run_id: id,
    status: "running",
    suite: plan.suite.name,
    model: spec.name,
    family: spec.family,
    variant: plan.entry.variant ?? null,
    seed,
    streams: Object.keys(streams).concat("init"),
    config: {
      steps: plan.entry.steps,
      input: kind,
      options,
      eval_count: plan.suite.evalCount ?? dataset.test.count,
      iwae_k: plan.suite.iwaeK,
      sample_count: plan.suite.sampleCount,
    },
    provenance: await provenance(backend, dataset),
    started_at: new Date().toISOString(),
    finished_at: null as string | null,
    wall_seconds: null as number | null,
  };
  await writeJsonAtomic(join(runDir, "run.json"), record);
  const wallStart = performance.now();

  const model = spec.create({
    shape: dataset.shape,
    options,
    init: Stream.derive(seed, "init"),
  });
  try {
    const curves: string[] = [];
    const train = await trainModel(plan, model, dataset, kind, streams, progress, curves);
    await writeFileAtomic(join(runDir, "curves.jsonl"), curves.join(""));
    await saveWeights(join(runDir, "weights.bin"), model.weights());

    const metrics: Record<string, MetricValue> = {};
    if (!train.diverged) {
      const sums = await evaluate(model, spec, dataset, kind, plan.suite, streams.evaluation);
      Object.assign(metrics, likelihoodMetrics(sums, dim));
      const sampleStart = performance.now();
      const samples = await model.sample(plan.suite.sampleCount, streams.sample);
      const sampleSeconds = (performance.now() - sampleStart) / 1000;
      metrics.sample_img_per_s = metricValue(
        "sample_img_per_s",
        plan.suite.sampleCount / sampleSeconds,
      );
      const unit = kind === "byte" ? samples.map((v) => v / 255) : samples;
      const columns = Math.ceil(Math.sqrt(plan.suite.sampleCount));
      await writeFileAtomic(join(runDir, "samples.png"), gridPng(unit, dataset.shape, columns));
    }
    metrics.params = metricValue("params", parameterCount(model));
    metrics.train_seconds = metricValue("train_seconds", train.seconds);
    metrics.train_img_per_s = metricValue(
      "train_img_per_s",
      (train.steps * batchSize) / Math.max(train.seconds, 1e-9),
    );
    const file: MetricsFile = {
      model: spec.name,
      variant: plan.entry.variant ?? null,
      dataset: dataset.name,
      seed,
      backend: backend.name,
      suite: plan.suite.name,
      run_id: id,
      status: train.diverged ? "diverged" : "finished",
      metrics,
    };
    await writeJsonAtomic(join(runDir, "metrics.json"), file);
    record.status = file.status;
    record.finished_at = new Date().toISOString();
    record.wall_seconds = (performance.now() - wallStart) / 1000;
    await writeJsonAtomic(join(runDir, "run.json"), record);
    return file;
  } finally {
    model.dispose();
  }
}

interface TrainOutcome {
  steps: number;
  seconds: number;
  diverged: boolean;
}

async function trainModel(
  plan: RunPlan,
  model: GenerativeModel,
  dataset: Dataset,
  kind: InputKind,
  streams: { data: Stream; binarize: Stream; train: Stream },
  progress: Progress,
  curves: string[],
): Promise<TrainOutcome> {
  const { steps } = plan.entry;
  const batchSize = Math.min(Number(plan.options.batchSize), dataset.train.count);
  const dim = dimOf(dataset.shape);
  const conditional = plan.spec.capabilities.includes("conditional");
  const logEvery = Math.max(1, Math.floor(steps / 100));
  let order = streams.data.permutation(dataset.train.count);
  let cursor = 0;
  let epoch = 0;
  const start = performance.now();
  for (let step = 1; step <= steps; step++) {
    if (cursor + batchSize > order.length) {
      order = streams.data.permutation(dataset.train.count);
      cursor = 0;
      epoch++;
    }
    const rows = order.subarray(cursor, cursor + batchSize);
    cursor += batchSize;
    const x = inputBatch(dataset.train.images, null, dim, rows, kind, streams.binarize);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => dataset.train.labels[r]), "int32")
      : undefined;
    const losses = model.trainStep(x, streams.train, labels);
    x.dispose();
    labels?.dispose();
    if (step % logEvery === 0 || step === steps) {
      const values: Record<string, number> = {};
      for (const [name, scalar] of Object.entries(losses)) values[name] = (await scalar.data())[0];
      tf.dispose(Object.values(losses));
      const seconds = (performance.now() - start) / 1000;
      const imagesPerSecond = (step * batchSize) / seconds;
      curves.push(
        JSON.stringify({ step, epoch, images: step * batchSize, seconds, ...values }) + "\n",
      );
      progress.update(step, values, imagesPerSecond);
      if (Object.values(values).some((v) => !Number.isFinite(v))) {
        progress.note(`${plan.spec.name}: loss is not finite at step ${step}; stopping this run`);
        return { steps: step, seconds, diverged: true };
      }
    } else {
      tf.dispose(Object.values(losses));
    }
  }
  return { steps, seconds: (performance.now() - start) / 1000, diverged: false };
}

/** The likelihood metrics from the evaluation sums: exact where the model has it, else bounds. */
function likelihoodMetrics(sums: EvalSums, dim: number): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {};
  const mean = (total: number) => total / sums.count;
  if (sums.logProb !== null) {
    const nll = -mean(sums.logProb);
    metrics.nll_nats = metricValue("nll_nats", nll, { kind: "exact" });
    metrics.bpd = metricValue("bpd", bitsPerDim(nll, dim), { kind: "exact" });
  }
  if (sums.elbo !== null) {
    const negElbo = -mean(sums.elbo);
    metrics.elbo_nats = metricValue("elbo_nats", negElbo, { kind: "elbo" });
    metrics.kl_nats = metricValue("kl_nats", mean(sums.kl!));
    if (sums.iwae !== null) {
      const nll = -mean(sums.iwae);
      metrics.iwae_nats = metricValue("iwae_nats", nll, { kind: "iwae-k", k: sums.iwaeK });
    }
    if (sums.logProb === null) {
      const best = metrics.iwae_nats ?? metrics.elbo_nats;
      metrics.nll_nats = { ...best, unit: "nats" };
      metrics.bpd = { ...best, value: bitsPerDim(best.value, dim), unit: "bits/dim" };
    }
  }
  if (sums.reconBce !== null) {
    metrics.recon_bce = metricValue("recon_bce", mean(sums.reconBce));
    metrics.recon_mse = metricValue("recon_mse", sums.reconSquaredError! / (sums.count * dim));
  }
  return metrics;
}
