import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { parseIdx } from "../../datasets/idx.ts";
import { datasetTestSubset } from "../../datasets/subset.ts";
import { getModel } from "../../models/registry.ts";
import { inputKindOf, type ModelSpec } from "../../models/model.ts";
import type { MetricValue } from "../../metrics/metric.ts";
import { LENET_SHA256 } from "../../metrics/features/classifier.ts";
import { evaluateModel, EVALUATIONS } from "../../benchmarks/evaluations.ts";
import type { Evaluation, EvaluationContext } from "../../benchmarks/evaluations/context.ts";
import { featureEvaluation } from "../../benchmarks/evaluations/features.ts";
import { reconstructionEvaluation } from "../../benchmarks/evaluations/reconstruction.ts";
import { generatorViewsEvaluation } from "../../benchmarks/evaluations/generator_views.ts";
import { parzenEvaluation } from "../../benchmarks/evaluations/parzen.ts";
import { aisEvaluation } from "../../benchmarks/evaluations/ais.ts";
import type { RunConfig } from "../../benchmarks/record.ts";
import { freshStreams } from "../../benchmarks/train_state.ts";
import { METRICS } from "../../metrics/metric.ts";
import { defaultOptions } from "../../models/options.ts";
import { minimalProtocol } from "./_protocol.ts";

await selectBackend("cpu");

function build(name: string, shape: { height: number; width: number; channels: number }) {
  const spec = getModel(name);
  const model = spec.create({
    shape,
    options: { ...defaultOptions(spec.options), batchSize: 16 },
    init: Stream.derive(1, "init"),
  });
  return { spec, model };
}

/** A `save` that keeps the files in memory. */
function memorySave(): {
  files: Map<string, Uint8Array>;
  save: (p: string, b: Uint8Array) => Promise<void>;
} {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    save: (path, bytes) => Promise.resolve(void files.set(path.split("/").pop()!, bytes)),
  };
}

const PROTOCOL: RunConfig = minimalProtocol(10);

/** The context of one evaluation of `built` on `dataset` under `protocol`. */
function contextOf(
  built: ReturnType<typeof build>,
  dataset: Dataset,
  protocol: Partial<RunConfig>,
  save: (p: string, b: Uint8Array) => Promise<void>,
  runDir = "/run",
): EvaluationContext {
  const streams = freshStreams(1);
  return {
    spec: built.spec as ModelSpec,
    model: built.model,
    dataset,
    kind: inputKindOf(built.spec, defaultOptions(built.spec.options)),
    config: { ...PROTOCOL, ...protocol },
    streams,
    noise: (name) => streams.evaluation.child("extras").child(name),
    runDir,
    save,
  };
}

/** Run one evaluation if it applies; `null` if it does not. */
async function runIfApplies(
  evaluation: Evaluation,
  context: EvaluationContext,
): Promise<Record<string, MetricValue> | null> {
  return evaluation.appliesTo(context) ? await evaluation.run(context) : null;
}

Deno.test("every evaluation names metrics that exist, and the list has each once", () => {
  const names = EVALUATIONS.map((e) => e.name);
  assert.equal(new Set(names).size, names.length);
  for (const evaluation of EVALUATIONS) {
    for (const metric of evaluation.metrics) assert.ok(METRICS[metric], metric);
  }
});

Deno.test("feature metrics of a sampler on 28×28 data: LeNet features, the extractor's hash, samples.idx", async () => {
  const dataset = syntheticDataset({ size: 28, trainCount: 300, testCount: 150 });
  const built = build("bernoulli", dataset.shape);
  const { files, save } = memorySave();
  const context = contextOf(built, dataset, { feature_samples: 120 }, save);
  const metrics = (await runIfApplies(featureEvaluation, context))!;
  // An untrained factorized model is far from the data: a positive FID, finite everything.
  // A binary model is scored against the binarized test set, under names of their own.
  assert.ok(metrics.fid_binary.value > 0, `fid_binary ${metrics.fid_binary?.value}`);
  for (
    const name of [
      "fid_binary",
      "kid_binary",
      "precision_binary",
      "recall_binary",
      "is_score",
      "class_entropy",
      "nn_train_ratio",
    ]
  ) {
    assert.ok(Number.isFinite(metrics[name]?.value), name);
  }
  const record = JSON.parse(new TextDecoder().decode(files.get("features.json")!));
  assert.deepEqual(record.extractor, { name: "lenet", sha256: LENET_SHA256 });
  const idx = parseIdx(files.get("samples.idx")!, "samples.idx");
  assert.deepEqual(idx.dims, [120, 28, 28]);
  // Binary samples are stored as 0/255.
  assert.ok(idx.data.every((v) => v === 0 || v === 255));
  built.model.dispose();
});

Deno.test("feature metrics are skipped, with a reason in features.json, where the LeNet does not apply", async () => {
  const dataset = syntheticDataset(); // 12×12
  const built = build("bernoulli", dataset.shape);
  const { files, save } = memorySave();
  const context = contextOf(built, dataset, { feature_samples: 120 }, save);
  assert.deepEqual(await runIfApplies(featureEvaluation, context), {});
  assert.deepEqual([...files.keys()], ["features.json"]);
  const record = JSON.parse(new TextDecoder().decode(files.get("features.json")!));
  assert.equal(record.extractor, null);
  assert.match(record.skipped[0], /28×28/);
  built.model.dispose();
});

Deno.test("GANs get views and a Parzen estimate; other families get neither", async () => {
  const dataset = syntheticDataset();
  const gan = build("gan-mlp", dataset.shape);
  const { files, save } = memorySave();
  const context = contextOf(gan, dataset, { parzen_samples: 50 }, save);
  assert.deepEqual(await runIfApplies(generatorViewsEvaluation, context), {});
  const metrics = (await runIfApplies(parzenEvaluation, context))!;
  assert.equal(metrics.parzen_ll.kind, "parzen");
  assert.equal(metrics.parzen_ll.better, "higher");
  assert.ok(Number.isFinite(metrics.parzen_ll.value));
  assert.ok(metrics.parzen_sigma.value > 0);
  assert.equal(await runIfApplies(aisEvaluation, context), null); // ais_count 0
  assert.ok(files.has("interpolation.png"));
  gan.model.dispose();

  const vae = build("vae-mlp", dataset.shape);
  const vaeContext = contextOf(vae, dataset, { parzen_samples: 50, ais_count: 5 }, save);
  for (const evaluation of [generatorViewsEvaluation, parzenEvaluation, aisEvaluation]) {
    assert.equal(evaluation.appliesTo(vaeContext), false, evaluation.name);
  }
  vae.model.dispose();
});

Deno.test("encoder–decoder models get reconstruction metrics and latent views", async () => {
  const dataset = syntheticDataset();
  const built = build("vae-mlp", dataset.shape);
  const { files, save } = memorySave();
  const dir = await Deno.makeTempDir(); // the latent views are written there by benchmarks/views/latent.ts
  const context = contextOf(built, dataset, { recon_count: 40 }, save, dir);
  const metrics = (await runIfApplies(reconstructionEvaluation, context))!;
  assert.ok(metrics.recon_psnr.value > 0);
  assert.ok(metrics.recon_ssim.value <= 1);
  assert.ok(metrics.active_units.value >= 0 && metrics.active_units.value <= 50);
  // Posterior-mean reconstruction for every encoder–decoder model, VAEs included (the ELBO's
  // sampled-z term is elbo_recon_nats).
  assert.ok(metrics.recon_bce.value > 0 && metrics.recon_mse.value > 0);
  assert.ok(files.has("latent.json"));
  const views = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(views, [
    "interpolation.png",
    "reconstructions.png",
    "sample_means.png",
    "traversal.png",
  ]);
  assert.equal(reconstructionEvaluation.appliesTo({ ...context, config: PROTOCOL }), false);
  built.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("AIS of a generator with a discrete code averages p(x|c) over the code (closed form)", async () => {
  // A generator whose image depends on its code c only: p(x|c) = N(x; m_c, σ²I) whatever z, so
  // AIS is exact and log p(x) = log ½ (N(x; m_0) + N(x; m_1)) is known in closed form.
  const dataset = syntheticDataset();
  const dim = dataset.shape.height * dataset.shape.width;
  const means = [0.2, 0.6];
  const tf = await import("@tensorflow/tfjs-core");
  const decoder = {
    latent: 1,
    categories: 2,
    decode: (
      z: import("@tensorflow/tfjs-core").Tensor2D,
      labels?: import("@tensorflow/tfjs-core").Tensor1D,
    ) =>
      tf.tidy(() => {
        const c = labels!.cast("float32").reshape([-1, 1]);
        const level = tf.add(means[0], tf.mul(c, means[1] - means[0]));
        return tf.add(
          tf.mul(z.sum(1, true), 0),
          tf.tile(level, [1, dim]),
        ) as import("@tensorflow/tfjs-core").Tensor2D;
      }),
    dispose: () => {},
  };
  const built = build("gan-mlp", dataset.shape);
  const coded = { ...built, model: { ...built.model, generator: () => decoder } };
  const count = 1;
  const context = contextOf(coded, dataset, { ais_count: count }, memorySave().save);
  const metrics = (await runIfApplies(aisEvaluation, context))!;
  const sigma = metrics.ais_sigma.value;
  let expected = 0;
  // AIS averages over the seeded test subset every model shares (datasets/subset.ts).
  const rows = datasetTestSubset(dataset, count).rows;
  for (const row of rows) {
    const x = dataset.test.images.subarray(row * dim, (row + 1) * dim);
    const logN = means.map((m) => {
      let sq = 0;
      for (const v of x) sq += (v / 255 - m) ** 2;
      return -0.5 * sq / sigma ** 2 - 0.5 * dim * Math.log(2 * Math.PI * sigma ** 2);
    });
    const max = Math.max(...logN);
    expected += max + Math.log(logN.reduce((s, l) => s + Math.exp(l - max), 0) / 2);
  }
  expected /= count;
  assert.ok(
    Math.abs(metrics.ais_ll.value - expected) < 0.01, // exact up to float32 rounding
    `${metrics.ais_ll.value} vs ${expected}`,
  );
  built.model.dispose();
});

Deno.test("evaluateModel runs the entries that apply, in order, and merges their metrics", async () => {
  const dataset = syntheticDataset();
  const built = build("bernoulli", dataset.shape);
  const { files, save } = memorySave();
  const { noise: _, ...context } = contextOf(built, dataset, {}, save);
  const metrics = await evaluateModel(context);
  assert.deepEqual(Object.keys(metrics), ["nll_nats", "bpd", "sample_img_per_s"]);
  assert.ok(files.has("samples.png"));
  built.model.dispose();
});
