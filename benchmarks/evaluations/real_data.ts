/**
 * The real-data rows: training images scored as if they were a model's samples, under the
 * suite's protocol — the floor of the feature metrics (real against real at the same sample
 * count and reference) and the ceiling of the Parzen estimate at the same sample count. Reports
 * show them as each table's reference row (model `real-data`), so a reader sees what the best
 * possible sampler scores under exactly that protocol.
 *
 * One folder per reference and dataset, `runs/real-data-<reference>-<dataset>/` with a
 * `run.json` (provenance of the run that wrote it, the protocol as its config) and a
 * `metrics.json`, written by the first run of a process that needs it. Nothing is trained:
 * `--resume` leaves these folders alone (benchmarks/plan.ts).
 */
import { dirname, join } from "node:path";
import { Stream } from "../../core/rng.ts";
import { BINARIZATION_SEED, binarize, gatherRows } from "../../datasets/build.ts";
import { type Dataset, dimOf } from "../../datasets/dataset.ts";
import { datasetSubset } from "../../datasets/subset.ts";
import type { FeatureReferenceName, MetricValue } from "../../metrics/metric.ts";
import { featureMetricsFrom } from "../../metrics/features/evaluate.ts";
import { bytesToGrey, extractFeatures } from "../../metrics/features/classifier.ts";
import {
  parzenImages,
  parzenLogLikelihood,
  parzenMetrics,
  realParzenSamples,
} from "../../metrics/parzen.ts";
import {
  json,
  type MetricsFile,
  parseRunRecord,
  readMetricsFile,
  readRunFile,
  RUN_FILES,
  saveRunFile,
} from "../record.ts";
import type { Evaluation, EvaluationContext } from "./context.ts";
import { featureReference, lenetFits, referenceOf, tagFeatureMetrics } from "./features.ts";
import { parzenEvaluation } from "./parzen.ts";

/** The model name of a real-data row (reports show it as the reference row, never ranked). */
export const REAL_DATA_MODEL = "real-data";

/** The folder name prefix of real-data rows under `runs/`. */
export const REAL_DATA_PREFIX = `${REAL_DATA_MODEL}-`;

/** What a real-data row is computed with: the suite's protocol. */
export interface RealDataProtocol {
  featureSamples: number;
  kidSubsets: number;
  parzenSamples: number;
}

/**
 * `count` training images (a seeded subset) in the representation of `reference`: binarized
 * once with a fixed seed for test-binary, grey levels pixel/255 for test-grey.
 */
export function realImages(
  dataset: Dataset,
  reference: FeatureReferenceName,
  count: number,
): Float32Array {
  const rows = datasetSubset(dataset, "train", count).rows;
  const bytes = gatherRows(dataset.train.images, dimOf(dataset.shape), rows);
  if (reference === "test-grey") return bytesToGrey(bytes);
  const stream = Stream.derive(BINARIZATION_SEED, `${dataset.name}/binarize-real-data`);
  return Float32Array.from(binarize(bytes, stream));
}

/** The metrics of the real-data row of `reference` under `protocol`. */
export async function realDataMetrics(
  dataset: Dataset,
  reference: FeatureReferenceName,
  protocol: RealDataProtocol,
): Promise<Record<string, MetricValue>> {
  const metrics: Record<string, MetricValue> = {};
  if (protocol.featureSamples > 0 && lenetFits(dataset)) {
    const { extractor, reference: test } = await featureReference(dataset, reference);
    const count = Math.min(protocol.featureSamples, dataset.train.count);
    const images = realImages(dataset, reference, count);
    const features = await extractFeatures(extractor, images, count);
    const stream = Stream.derive(0, `real-data/${reference}`);
    const result = featureMetricsFrom(features, test, stream.child("kid"), {
      kidSubsets: protocol.kidSubsets,
    }, { extractorName: extractor.name });
    Object.assign(metrics, tagFeatureMetrics(result.metrics, reference, count));
  }
  // The Parzen estimate scores grey test images: only the grey reference has a Parzen value.
  if (protocol.parzenSamples > 0 && reference === "test-grey") {
    const images = parzenImages(dataset, protocol.parzenSamples);
    const samples = realParzenSamples(dataset, protocol.parzenSamples);
    const dim = dimOf(dataset.shape);
    const result = parzenLogLikelihood(samples, images.validation, images.test, dim);
    Object.assign(metrics, parzenMetrics(result, images.testSubset));
  }
  return metrics;
}

/** The folder (and run id) of the real-data row of `reference` on `dataset`. */
function realDataId(reference: FeatureReferenceName, dataset: string): string {
  return `${REAL_DATA_PREFIX}${reference}-${dataset}`;
}

/**
 * The real-data rows of `dataset` under `runsDir` that a run of `suite` wrote (its summary shows
 * them beside the models: the FID floor, the Parzen ceiling).
 */
export async function readRealDataRows(
  runsDir: string,
  dataset: string,
  suite: string,
): Promise<MetricsFile[]> {
  const rows: MetricsFile[] = [];
  for (const reference of ["test-grey", "test-binary"] as FeatureReferenceName[]) {
    const file = await readMetricsFile(join(runsDir, realDataId(reference, dataset)));
    if (file && file.suite === suite) rows.push(file);
  }
  return rows;
}

const written = new Map<string, Promise<void>>();

/**
 * Write the real-data row of `reference` beside the run of `context` (once per process, runs
 * folder, dataset and protocol): `runs/real-data-<reference>-<dataset>/`.
 */
export function ensureRealDataRow(
  context: EvaluationContext,
  reference: FeatureReferenceName,
): Promise<void> {
  const { dataset, config, runDir } = context;
  const protocol: RealDataProtocol = {
    featureSamples: config.feature_samples,
    kidSubsets: config.kid_subsets,
    parzenSamples: config.parzen_samples,
  };
  const id = realDataId(reference, dataset.name);
  const dir = join(dirname(runDir), id);
  const key = JSON.stringify([dir, dataset.fingerprint, protocol]);
  if (!written.has(key)) {
    written.set(
      key,
      (async () => {
        // The suite and provenance of the run that needs the row (its run.json comes first).
        const path = join(runDir, RUN_FILES.record);
        const text = await readRunFile(path);
        if (text === null) throw new Error(`real-data row: ${path} is missing`);
        const source = parseRunRecord(text, path, true);
        const started = new Date().toISOString();
        const metrics = await realDataMetrics(dataset, reference, protocol);
        const file: MetricsFile = {
          model: REAL_DATA_MODEL,
          variant: reference,
          dataset: dataset.name,
          seed: 0,
          backend: source.provenance.backend,
          suite: source.suite,
          run_id: id,
          status: "finished",
          metrics,
        };
        const record = {
          run_id: id,
          status: "finished",
          suite: source.suite,
          model: REAL_DATA_MODEL,
          family: REAL_DATA_MODEL,
          variant: reference,
          seed: 0,
          streams: [],
          config: {
            samples_from: "training images (seeded subset)",
            feature_samples: protocol.featureSamples,
            kid_subsets: protocol.kidSubsets,
            parzen_samples: reference === "test-grey" ? protocol.parzenSamples : 0,
          },
          provenance: source.provenance,
          started_at: started,
          finished_at: new Date().toISOString(),
          wall_seconds: null,
        };
        await Deno.mkdir(dir, { recursive: true });
        await saveRunFile(join(dir, RUN_FILES.metrics), json(file));
        await saveRunFile(join(dir, RUN_FILES.record), json(record));
      })(),
    );
  }
  return written.get(key)!;
}

/**
 * Writes the real-data rows a run's other evaluations need: its samples' reference for the
 * feature metrics, test-grey for the Parzen estimate. Produces no metric of the run itself.
 */
export const realDataEvaluation: Evaluation = {
  name: "real-data",
  metrics: [],
  appliesTo: (context) =>
    (context.config.feature_samples > 0 && context.spec.capabilities.includes("sample") &&
      lenetFits(context.dataset)) || parzenEvaluation.appliesTo(context),
  async run(context) {
    const references = new Set<FeatureReferenceName>();
    if (context.config.feature_samples > 0 && lenetFits(context.dataset)) {
      references.add(referenceOf(context.kind));
    }
    if (parzenEvaluation.appliesTo(context)) references.add("test-grey");
    for (const reference of references) await ensureRealDataRow(context, reference);
    return {};
  },
};
