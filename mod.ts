/**
 * genbench: train deep generative models under fixed seeds and score them with one set of
 * metrics. This module is the public API; run it as a program for the CLI
 * (`deno run mod.ts <command>`; `deno run mod.ts help` lists the commands).
 * @module
 */
export { main } from "./cli/main.ts";
export { bench, parseBenchArgs } from "./cli/bench.ts";
export type { BenchOptions } from "./cli/bench.ts";
export { listText } from "./cli/list.ts";
export { BACKENDS, selectBackend } from "./core/backend.ts";
export type { BackendInfo, BackendName } from "./core/backend.ts";
export { Stream } from "./core/rng.ts";
export type { StreamState } from "./core/rng.ts";
export { UsageError } from "./core/errors.ts";
export { loadWeights, saveWeights } from "./core/checkpoint.ts";
export { provenance } from "./core/provenance.ts";
export type { Provenance } from "./core/provenance.ts";
export { DATASETS, getDataset } from "./datasets/registry.ts";
export type { Dataset, ImageShape, Split } from "./datasets/dataset.ts";
export { loadMnist } from "./datasets/mnist.ts";
export { syntheticDataset } from "./datasets/synthetic.ts";
export { encodeIdx, parseIdx } from "./datasets/idx.ts";
export { getModel, MODELS } from "./models/registry.ts";
export { inputKindOf, parameterCount } from "./models/model.ts";
export type {
  Capability,
  ElboTerms,
  Family,
  GenerativeModel,
  InputKind,
  ModelArgs,
  ModelOptions,
  ModelSpec,
} from "./models/model.ts";
export { bitsPerDim, METRICS, metricValue } from "./metrics/metric.ts";
export type { LikelihoodKind, MetricDefinition, MetricValue } from "./metrics/metric.ts";
export { getSuite, SUITES } from "./benchmarks/suites.ts";
export type { Suite, SuiteEntry } from "./benchmarks/suites.ts";
export { planRun, RunInterrupted, runOne, StopRequest } from "./benchmarks/runner.ts";
export type { MetricsFile, RunPlan, RunStatus } from "./benchmarks/runner.ts";
export { parseShard, selectShard, splitShards } from "./benchmarks/shard.ts";
export { sbatchScript } from "./cli/slurm.ts";
export { loadCifar10 } from "./datasets/cifar10.ts";
export { summaryMarkdown } from "./reports/summary.ts";
export { writeReport } from "./reports/report.ts";
export { checkRuns, parseBaseline } from "./reports/check.ts";
export type { Baseline, CheckResult } from "./reports/check.ts";
export { fid } from "./metrics/features/fid.ts";
export { kid } from "./metrics/features/kid.ts";
export { featureMetrics } from "./metrics/features/evaluate.ts";
export { loadExtractor } from "./metrics/features/classifier.ts";
export { parzenLogLikelihood } from "./metrics/parzen.ts";
export { aisLogProb } from "./metrics/ais.ts";
export { iwaeBound } from "./metrics/bounds.ts";
export { psnrPerImage, ssim } from "./metrics/reconstruction.ts";

if (import.meta.main) {
  const { main } = await import("./cli/main.ts");
  Deno.exit(await main(Deno.args));
}
