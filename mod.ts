/**
 * genbench: train deep generative models under fixed seeds and score them with one set of
 * metrics. This module is the public API; run it as a program for the CLI
 * (`deno run -A mod.ts bench|list|help`).
 * @module
 */
export { bench, listText, main, parseBenchArgs } from "./core/cli.ts";
export type { BenchOptions } from "./core/cli.ts";
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
export { planRun, runOne } from "./benchmarks/runner.ts";
export type { MetricsFile, RunPlan } from "./benchmarks/runner.ts";
export { summaryMarkdown } from "./reports/summary.ts";

if (import.meta.main) {
  const { main } = await import("./core/cli.ts");
  Deno.exit(await main(Deno.args));
}
