import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { ATTRIBUTE_WORDS, captionVocabulary, PAD } from "../../datasets/captions.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS } from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { defaultOptions } from "../../models/options.ts";
import { getModel } from "../../models/registry.ts";
import type { MetricValue } from "../../metrics/metric.ts";
import type { EvaluationContext } from "../../benchmarks/evaluations/context.ts";
import {
  DIVERSITY_CAPTIONS,
  DIVERSITY_SAMPLES,
  text2imageEvaluation,
} from "../../benchmarks/evaluations/text2image.ts";
import { freshStreams } from "../../benchmarks/train_state.ts";
import { minimalProtocol } from "./_protocol.ts";

await selectBackend("cpu");

const DIGIT_WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
];
const vocabulary = captionVocabulary();

/** The digit and domain a caption's token ids name (what a perfect reader of captions sees). */
function readCaption(ids: Int32Array): { digit: number; domain: number } {
  const words = [...ids].filter((id) => id !== PAD).map((id) => vocabulary[id - 2]);
  const digit = words.map((w) => DIGIT_WORDS.includes(w) ? DIGIT_WORDS.indexOf(w) : Number(w))
    .find((d) => Number.isInteger(d))!;
  const attributes = Object.entries(ATTRIBUTE_WORDS)
    .filter(([name, synonyms]) => name !== "plain" && synonyms.some((s) => words.includes(s)))
    .map(([name]) => name).sort();
  const domain = DOMAINS.findIndex((d) => [...d.attributes].sort().join() === attributes.join());
  assert.ok(domain >= 0, words.join(" "));
  return { digit, domain };
}

/**
 * A stand-in model that answers each caption with a real test image: of the captioned digit
 * through the captioned domain (`oracle`), or of a random digit through a random domain.
 */
function stand(dataset: Dataset, oracle: boolean): GenerativeModel {
  const d = 784;
  return {
    fromCaptions(tokens, count, noise) {
      const length = tokens.length / count;
      const out = new Float32Array(count * d);
      for (let i = 0; i < count; i++) {
        const asked = readCaption(tokens.subarray(i * length, (i + 1) * length));
        let row = noise.int(dataset.test.count);
        while (oracle && dataset.test.labels[row] !== asked.digit) {
          row = noise.int(dataset.test.count);
        }
        const domain = oracle ? asked.domain : noise.int(DOMAINS.length);
        const image = dataset.test.images.subarray(row * d, (row + 1) * d);
        applyDomain(DOMAINS[domain], image).forEach((v, k) => (out[i * d + k] = v / 255));
      }
      return Promise.resolve(out);
    },
  } as GenerativeModel;
}

/** The text2image evaluation of `model` on `dataset` with `featureSamples` scored captions. */
async function evaluate(model: GenerativeModel, dataset: Dataset, featureSamples: number) {
  const files = new Map<string, Uint8Array>();
  const streams = freshStreams(1);
  const context: EvaluationContext = {
    spec: getModel("text2image"),
    model,
    dataset,
    kind: "grey",
    config: { ...minimalProtocol(10), input: "grey", feature_samples: featureSamples },
    streams,
    noise: (name) => streams.evaluation.child("extras").child(name),
    runDir: "/run",
    save: (path, bytes) => Promise.resolve(void files.set(path.split("/").pop()!, bytes)),
  };
  assert.ok(text2imageEvaluation.appliesTo(context));
  const metrics: Record<string, MetricValue> = await text2imageEvaluation.run(context);
  const report = JSON.parse(new TextDecoder().decode(files.get("text2image.json")));
  return { metrics, report, files };
}

const value = (metrics: Record<string, MetricValue>, name: string) => metrics[name]?.value;

Deno.test("text2image evaluation: a caption oracle scores the classifiers' accuracy, a blind model chance", async () => {
  const mnist = await loadMnist();
  const oracle = await evaluate(stand(mnist, true), mnist, 400);
  const real = oracle.report.scored.real;
  // The oracle's images are other real images of the asked class: the classifiers' accuracy.
  assert.ok(Math.abs(value(oracle.metrics, "caption_digit_acc") - real.digitAccuracy) < 0.04);
  assert.ok(Math.abs(value(oracle.metrics, "caption_domain_acc") - real.domainAccuracy) < 0.04);
  assert.ok(value(oracle.metrics, "caption_match_acc") > 0.88, JSON.stringify(oracle.metrics));
  assert.equal(oracle.metrics.caption_digit_acc.n, 400);
  // Real diversity is the scale: the oracle's samples of a caption are as diverse as real ones.
  const ratio = value(oracle.metrics, "caption_diversity") /
    value(oracle.metrics, "caption_diversity_real");
  assert.ok(ratio > 0.8 && ratio < 1.25, `${ratio}`);
  assert.ok(oracle.report.skipped.some((s: string) => s.startsWith("caption_intra_fid")));
  const blind = await evaluate(stand(mnist, false), mnist, 400);
  assert.ok(Math.abs(value(blind.metrics, "caption_digit_acc") - 0.1) < 0.06);
  assert.ok(Math.abs(value(blind.metrics, "caption_domain_acc") - 0.125) < 0.06);
  // Its images follow the same marginal over digits and domains: overall FID cannot tell (the
  // per-domain and per-class FIDs can, tests/metrics/captions.test.ts).
});

Deno.test("text2image evaluation: same seed, same metrics and view; 12×12 scores diversity only", async () => {
  const mnist = await loadMnist();
  const spec = getModel("text2image");
  const build = () =>
    spec.create({
      shape: mnist.shape,
      options: { ...defaultOptions(spec.options), width: 2 },
      init: Stream.derive(1, "init"),
    });
  const [a, b] = [build(), build()];
  const first = await evaluate(a, mnist, 100);
  const second = await evaluate(b, mnist, 100);
  assert.deepEqual(first.metrics, second.metrics);
  assert.deepEqual(first.files, second.files);
  assert.ok(Number.isFinite(value(first.metrics, "caption_fid")));
  assert.equal(first.report.view.captions.length, DIVERSITY_CAPTIONS);
  a.dispose();
  b.dispose();
  const synthetic = syntheticDataset();
  const small = spec.create({
    shape: synthetic.shape,
    options: { ...defaultOptions(spec.options), width: 2 },
    init: Stream.derive(1, "init"),
  });
  const tiny = await evaluate(small, synthetic, 100);
  small.dispose();
  assert.deepEqual(Object.keys(tiny.metrics).sort(), [
    "caption_diversity",
    "caption_diversity_real",
  ]);
  assert.match(tiny.report.skipped[0], /need 28×28/);
  assert.equal(tiny.metrics.caption_diversity.samples, DIVERSITY_CAPTIONS * DIVERSITY_SAMPLES);
  assert.ok(tiny.files.has("captions.png"));
});
