/**
 * The two frozen classifiers of the translation metrics, trained by
 * scripts/train_domain_classifiers.ts from a fixed seed on MNIST put through every domain of
 * datasets/domains.ts: `digit` reads the digit (10 classes) in any domain, `domain` names the
 * domain (class k = DOMAINS[k]). Both are LeNets in the `genbench-lenet/1` weights format of
 * metrics/features/classifier.ts, and each is refused at load when its sha256 (canonical JSON,
 * as for the feature extractor) differs from the one recorded here.
 */
import { DOMAINS } from "../../datasets/domains.ts";
import {
  type FeatureExtractor,
  Lenet,
  LENET_ARCH,
  type LenetArch,
  lenetExtractor,
  type LenetWeightsFile,
  weightsSha256,
} from "../features/classifier.ts";
import digitWeights from "./digit.weights.json" with { type: "json" };
import domainWeights from "./domain.weights.json" with { type: "json" };

/** The digit reader: the canonical LeNet, so its 84 features can serve FID in any domain. */
export const DIGIT_ARCH: LenetArch = { ...LENET_ARCH };

/**
 * The domain namer: the LeNet's convolutions with narrower dense layers (telling "thin" from
 * "original" needs the stroke width, which 4 first-layer filters missed).
 */
export const DOMAIN_ARCH: LenetArch = {
  ...LENET_ARCH,
  dense1: 64,
  dense2: 32,
  classes: DOMAINS.length,
};

/** sha256 of the committed digit.weights.json; retraining changes it on purpose only. */
export const DIGIT_SHA256 = "21037b57b6fe5f11cb7d9baf239e48c37d6c72848ebe7a0f01757a639b179757";
/** sha256 of the committed domain.weights.json. */
export const DOMAIN_SHA256 = "ddd9240844ca7fc982e5ab470c4f53516a5bdc377c1bdf0b0555090c7dbf6145";

/** A classifier from a parsed weights file, refused unless its sha256 is `expected`. */
export function checkedClassifier(file: unknown, name: string, expected: string): FeatureExtractor {
  const sha256 = weightsSha256(file);
  if (sha256 !== expected) {
    throw new Error(
      `metrics/domains/${name}.weights.json: sha256 ${sha256} differs from the committed ` +
        `${expected} (retrained without updating metrics/domains/classifiers.ts?)`,
    );
  }
  const net = Lenet.fromFile(file as LenetWeightsFile, `metrics/domains/${name}.weights.json`);
  return lenetExtractor(net, `domains-${name}`, sha256);
}

/** Both committed classifiers, after checking their hashes. Dispose `net`s when done. */
export function loadDomainClassifiers(): { digit: FeatureExtractor; domain: FeatureExtractor } {
  const digit = checkedClassifier(digitWeights, "digit", DIGIT_SHA256);
  const domain = checkedClassifier(domainWeights, "domain", DOMAIN_SHA256);
  if (domain.classes !== DOMAINS.length) {
    domain.net?.dispose();
    digit.net?.dispose();
    throw new Error(
      `metrics/domains/domain.weights.json: ${domain.classes} classes, but datasets/domains.ts ` +
        `has ${DOMAINS.length} domains (retrain it)`,
    );
  }
  return { digit, domain };
}
