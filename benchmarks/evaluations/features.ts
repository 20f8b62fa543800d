/**
 * The feature-based metrics (FID, KID, precision/recall, IS, class entropy, label accuracy,
 * memorization) of `feature_samples` model samples against the test set, in the frozen LeNet's
 * feature space. Samples are compared with test images in the representation the model learned
 * (the static binarization for binary models, grey levels otherwise). Writes the scored samples
 * (`samples.idx`, for `deno task score`) and the extractor's identity (`features.json`).
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

function featureReference(dataset: Dataset, kind: InputKind): Promise<FeatureReference> {
  const key = `${dataset.fingerprint}/${kind === "binary" ? "binary" : "grey"}`;
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
function lenetFits(dataset: Dataset): boolean {
  const { height, width, channels } = dataset.shape;
  return height === 28 && width === 28 && channels === 1;
}

export const featureEvaluation: Evaluation = {
  name: "features",
  metrics: [
    "fid",
    "kid",
    "kid_std",
    "precision",
    "recall",
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
    const { extractor, reference, train } = await featureReference(dataset, kind);
    const labels = spec.capabilities.includes("conditional")
      ? Int32Array.from({ length: count }, (_, i) => i % dataset.classes)
      : undefined;
    const drawn = await model.sample(count, stream.child("samples"), labels);
    const unit = kind === "byte" ? drawn.map((v) => v / 255) : drawn;
    const bytes = Uint8Array.from(unit, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
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
    return result.metrics;
  },
};
