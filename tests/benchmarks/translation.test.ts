import assert from "node:assert/strict";
import { decode } from "fast-png";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS, type Translator } from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import type { GenerativeModel, ModelSpec } from "../../models/model.ts";
import type { MetricValue } from "../../metrics/metric.ts";
import type { EvaluationContext } from "../../benchmarks/evaluations/context.ts";
import {
  digitsPerPair,
  TRANSLATION_FILE,
  translationEvaluation,
  translationPairs,
} from "../../benchmarks/evaluations/translation.ts";
import { freshStreams } from "../../benchmarks/train_state.ts";
import { minimalProtocol } from "./_protocol.ts";

await selectBackend("cpu");

/** The ground truth: each test row put through the target domain (it reads `rows`). */
function oracle(dataset: Dataset): Translator {
  const { height, width } = dataset.shape;
  const d = height * width;
  return (_images, count, _from, to, rows) => {
    const out = new Float32Array(count * d);
    for (let i = 0; i < count; i++) {
      const digit = dataset.test.images.subarray(rows[i] * d, (rows[i] + 1) * d);
      const truth = applyDomain(DOMAINS[to], digit, height, width);
      for (let p = 0; p < d; p++) out[i * d + p] = truth[p] / 255;
    }
    return Promise.resolve(out);
  };
}

/** Mid-grey whatever the input. */
const constant: Translator = (images) => Promise.resolve(new Float32Array(images.length).fill(0.5));

/** Run the translation evaluation of a model that translates with `translate`. */
async function evaluate(
  dataset: Dataset,
  domains: number[],
  translate: Translator,
  protocol: { eval_count: number; feature_samples: number },
) {
  const files = new Map<string, Uint8Array>();
  const streams = freshStreams(1);
  const model = { translation: () => ({ domains, translate }) } as unknown as GenerativeModel;
  const context: EvaluationContext = {
    spec: { capabilities: ["translate"] } as unknown as ModelSpec,
    model,
    dataset,
    kind: "grey",
    config: { ...minimalProtocol(10), input: "grey", ...protocol },
    streams,
    noise: (name) => streams.evaluation.child("extras").child(name),
    runDir: "/run",
    save: (path, bytes) => Promise.resolve(void files.set(path.split("/").pop()!, bytes)),
  };
  assert.ok(translationEvaluation.appliesTo(context));
  const metrics: Record<string, MetricValue> = await translationEvaluation.run(context);
  const breakdown = JSON.parse(new TextDecoder().decode(files.get(TRANSLATION_FILE)!));
  return { metrics, breakdown, files };
}

Deno.test("translation pairs: both directions of two domains; from original to each, plus as many drawn", () => {
  assert.deepEqual(translationPairs([0, 2], Stream.derive(1, "p")), [[0, 2], [2, 0]]);
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  const pairs = translationPairs(all, Stream.derive(1, "p"));
  assert.equal(pairs.length, 14);
  assert.deepEqual(pairs.slice(0, 7), [1, 2, 3, 4, 5, 6, 7].map((to) => [0, to]));
  const keys = pairs.map(([a, b]) => `${a}>${b}`);
  assert.equal(new Set(keys).size, 14);
  assert.ok(pairs.every(([a, b]) => a !== b));
  assert.deepEqual(translationPairs(all, Stream.derive(1, "p")), pairs);
  // Without original, the first domain is the hub.
  assert.deepEqual(translationPairs([3, 4, 5], Stream.derive(1, "p")).slice(0, 2), [[3, 4], [
    3,
    5,
  ]]);
  assert.equal(digitsPerPair(10_000, 10_000, 14), 715);
  assert.equal(digitsPerPair(500, 200, 2), 200);
});

Deno.test("translation: the ground truth scores perfectly, a constant translator at chance (MNIST)", async () => {
  const mnist = await loadMnist();
  const protocol = { eval_count: 400, feature_samples: 1 };
  const truth = await evaluate(mnist, [0, 2], oracle(mnist), protocol);
  const m = truth.metrics;
  assert.equal(m.translation_psnr.value, 100);
  assert.ok(Math.abs(m.translation_ssim.value - 1) < 1e-9, `${m.translation_ssim.value}`);
  assert.equal(m.translation_cycle_l1.value, 0);
  assert.ok(Math.abs(m.translation_fid.value) < 1e-3, `fid ${m.translation_fid.value}`);
  // Label preservation reaches its ceiling, the reader's accuracy on the ground truth itself.
  const ceiling = truth.breakdown.pairs.reduce(
    (s: number, p: { truth_label_acc: number }) => s + p.truth_label_acc,
    0,
  ) / 2;
  assert.equal(m.translation_label_acc.value, ceiling);
  assert.ok(ceiling > 0.95 && m.translation_domain_acc.value > 0.9);
  assert.equal(m.translation_psnr.n, 200);
  assert.equal(m.translation_psnr.pairs, 2);
  assert.deepEqual(
    truth.breakdown.pairs.map((p: { from: string; to: string }) => `${p.from}>${p.to}`),
    ["original>thick", "thick>original"],
  );

  const flat = (await evaluate(mnist, [0, 2], constant, protocol)).metrics;
  // One class for every image: the frequency of that class, about 1/10; one domain for both
  // directions: at most half of them right.
  assert.ok(flat.translation_label_acc.value < 0.2, `${flat.translation_label_acc.value}`);
  assert.ok(flat.translation_domain_acc.value <= 0.5, `${flat.translation_domain_acc.value}`);
  assert.ok(flat.translation_psnr.value < 10 && flat.translation_ssim.value < 0.2);
  assert.ok(flat.translation_fid.value > 10, `fid ${flat.translation_fid.value}`);
  // A constant's round trip is the same constant: far from the sources.
  assert.ok(flat.translation_cycle_l1.value > 0.3);
});

Deno.test("translation on 12×12 images: PSNR, SSIM and the cycle error only, said in translation.json; one grid per pair", async () => {
  const data = syntheticDataset({ trainCount: 20, testCount: 30 });
  const { metrics, breakdown, files } = await evaluate(
    data,
    [0, 1, 2],
    oracle(data),
    { eval_count: 40, feature_samples: 100 },
  );
  assert.deepEqual(Object.keys(metrics).sort(), [
    "translation_cycle_l1",
    "translation_psnr",
    "translation_ssim",
  ]);
  assert.equal(metrics.translation_psnr.value, 100);
  assert.equal(metrics.translation_psnr.n, 10);
  assert.equal(metrics.translation_psnr.pairs, 4);
  assert.match(breakdown.note, /28×28 only/);
  const png = decode(files.get("translation_original-to-inverted.png")!);
  // Four rows (source, translation, truth, cycle) of ten 12×12 digits, 1-pixel borders, ×2.
  assert.deepEqual([png.width, png.height], [(10 * 13 + 1) * 2, (4 * 13 + 1) * 2]);
  assert.equal([...files.keys()].filter((f) => f.endsWith(".png")).length, 4);
});
