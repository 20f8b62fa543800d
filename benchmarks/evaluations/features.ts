/**
 * The feature-based metrics (FID, KID, precision/recall, IS, class entropy, label accuracy,
 * memorization) of `feature_samples` model samples against the test set, in the frozen LeNet's
 * feature space. Samples are compared with test images in the representation the model learned
 * (the static binarization for binary models, grey levels otherwise); the metrics against the
 * binarization carry their own names (`fid_binary`, …) and every value records its `reference`
 * and `samples`, so one column never mixes references. The samples are rounded to bytes first:
 * `samples.idx` holds exactly what was scored (`deno task score` gives the same numbers). The
 * real-data row of each reference is ./real_data.ts.
 */
import { join } from "node:path";
import { Stream } from "../../core/rng.ts";
import { BINARIZATION_SEED, binarize } from "../../datasets/build.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { dimOf } from "../../datasets/dataset.ts";
import { encodeIdx } from "../../datasets/idx.ts";
import type { InputKind } from "../../models/model.ts";
import { featureMetricsFrom } from "../../metrics/features/evaluate.ts";
import {
  type FeatureReferenceName,
  type MetricValue,
  REFERENCED_METRICS,
  referencedName,
} from "../../metrics/metric.ts";
import {
  bytesToGrey,
  type ExtractedFeatures,
  extractFeatures,
  type FeatureExtractor,
  loadLenet,
} from "../../metrics/features/classifier.ts";
import { RUN_FILES } from "../record.ts";
import { type Evaluation, jsonBytes, testRows } from "./context.ts";

/** The frozen extractor and the test/train features of one dataset in one representation. */
interface FeatureReference {
  extractor: FeatureExtractor;
  reference: ExtractedFeatures;
  train: ExtractedFeatures;
}

// Extracting 20,000 reference images costs ~25 s on a CPU: do it once per dataset and
// representation in a process, not once per model.
const references = new Map<string, Promise<FeatureReference>>();

/** The reference test set of a model's samples: the representation it learned. */
export function referenceOf(kind: InputKind): FeatureReferenceName {
  return kind === "binary" ? "test-binary" : "test-grey";
}

/** The extractor and the features of the test set (and 10,000 training images) of a reference. */
export function featureReference(
  dataset: Dataset,
  referenceName: FeatureReferenceName,
): Promise<FeatureReference> {
  const kind: InputKind = referenceName === "test-binary" ? "binary" : "grey";
  const key = `${dataset.fingerprint}/${referenceName}`;
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

/** True where the frozen LeNet applies: 28×28 grey images. */
export function lenetFits(dataset: Dataset): boolean {
  const { height, width, channels } = dataset.shape;
  return height === 28 && width === 28 && channels === 1;
}

/**
 * Feature metrics under the names of their reference (`fid` → `fid_binary` against
 * test-binary), each recording the reference it compares with and the samples it scored.
 */
export function tagFeatureMetrics(
  metrics: Record<string, MetricValue>,
  reference: FeatureReferenceName,
  samples: number,
): Record<string, MetricValue> {
  return Object.fromEntries(
    Object.entries(metrics).map(([name, value]) => [
      referencedName(name, reference),
      { ...value, samples, ...(REFERENCED_METRICS.includes(name) ? { reference } : {}) },
    ]),
  );
}

export const featureEvaluation: Evaluation = {
  name: "features",
  metrics: [
    "fid",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "fid_binary",
    "kid_binary",
    "kid_std_binary",
    "precision_binary",
    "recall_binary",
    "is_score",
    "is_score_std",
    "class_entropy",
    "label_accuracy",
    "nn_train_ratio",
  ],
  appliesTo: ({ spec, config }) =>
    config.feature_samples > 0 && spec.capabilities.includes("sample"),
  async run({ spec, model, dataset, kind, config, noise, runDir, save }) {
    const count = config.feature_samples;
    if (!lenetFits(dataset)) {
      const skipped = ["feature metrics: the frozen LeNet needs 28×28 grey images"];
      await save(join(runDir, RUN_FILES.features), jsonBytes({ extractor: null, skipped }));
      return {};
    }
    const stream = noise("features");
    const referenceName = referenceOf(kind);
    const { extractor, reference, train } = await featureReference(dataset, referenceName);
    const labels = spec.capabilities.includes("conditional")
      ? Int32Array.from({ length: count }, (_, i) => i % dataset.classes)
      : undefined;
    const drawn = await model.sample!(count, stream.child("samples"), labels);
    const scale = kind === "byte" ? 1 : 255;
    const bytes = Uint8Array.from(drawn, (v) => Math.round(Math.min(255, Math.max(0, v * scale))));
    // Score what is saved: the samples as the bytes of samples.idx.
    const unit = bytesToGrey(bytes);
    const { height, width } = dataset.shape;
    await save(join(runDir, RUN_FILES.sampleIdx), encodeIdx([count, height, width], bytes));
    const samples = await extractFeatures(extractor, unit, count);
    const result = featureMetricsFrom(samples, reference, stream.child("kid"), {
      kidSubsets: config.kid_subsets,
    }, { train, labels, extractorName: extractor.name });
    await save(
      join(runDir, RUN_FILES.features),
      jsonBytes({ extractor: result.extractor, skipped: result.skipped }),
    );
    return tagFeatureMetrics(result.metrics, referenceName, count);
  },
};
