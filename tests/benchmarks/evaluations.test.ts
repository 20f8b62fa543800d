import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { parseIdx } from "../../datasets/idx.ts";
import { getModel } from "../../models/registry.ts";
import { LENET_SHA256 } from "../../metrics/features/classifier.ts";
import {
  adversarialEvaluation,
  featureEvaluation,
  reconstructionEvaluation,
} from "../../benchmarks/evaluations.ts";
import type { ModelSpec } from "../../models/model.ts";

await selectBackend("cpu");

function build(name: string, shape: { height: number; width: number; channels: number }) {
  const spec = getModel(name);
  const model = spec.create({
    shape,
    options: { ...spec.defaults, batchSize: 16 },
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

Deno.test("feature metrics of a sampler on 28×28 data: LeNet features, the extractor's hash, samples.idx", async () => {
  const dataset = syntheticDataset({ size: 28, trainCount: 300, testCount: 150 });
  const { spec, model } = build("bernoulli", dataset.shape);
  const { files, save } = memorySave();
  const result = await featureEvaluation(
    spec,
    model,
    dataset,
    "binary",
    { samples: 120, kidSubsets: 2 },
    Stream.derive(1, "features"),
    "/run",
    save,
  );
  // An untrained factorized model is far from the data: a positive FID, finite everything.
  assert.ok(result.metrics.fid.value > 0, `fid ${result.metrics.fid?.value}`);
  for (
    const name of [
      "fid",
      "kid",
      "precision",
      "recall",
      "is_score",
      "class_entropy",
      "nn_train_ratio",
    ]
  ) {
    assert.ok(Number.isFinite(result.metrics[name]?.value), name);
  }
  assert.deepEqual(result.extractor, { name: "lenet", sha256: LENET_SHA256 });
  const idx = parseIdx(files.get("samples.idx")!, "samples.idx");
  assert.deepEqual(idx.dims, [120, 28, 28]);
  // Binary samples are stored as 0/255.
  assert.ok(idx.data.every((v) => v === 0 || v === 255));
  model.dispose();
});

Deno.test("feature metrics are skipped, with a reason, where the LeNet does not apply", async () => {
  const dataset = syntheticDataset(); // 12×12
  const { spec, model } = build("bernoulli", dataset.shape);
  const { files, save } = memorySave();
  const result = await featureEvaluation(
    spec,
    model,
    dataset,
    "binary",
    {
      samples: 120,
      kidSubsets: 2,
    },
    Stream.derive(1, "f"),
    "/run",
    save,
  );
  assert.deepEqual(result.metrics, {});
  assert.match(result.skipped[0], /28×28/);
  assert.equal(files.size, 0);
  model.dispose();
});

Deno.test("GANs get views and a Parzen estimate; other families get neither", async () => {
  const dataset = syntheticDataset();
  const gan = build("gan-mlp", dataset.shape);
  const { files, save } = memorySave();
  const metrics = await adversarialEvaluation(
    gan.spec,
    gan.model,
    dataset,
    { parzenSamples: 50, aisCount: 0 },
    Stream.derive(1, "adv"),
    "/run",
    save,
  );
  assert.equal(metrics.parzen_ll.kind, "parzen");
  assert.equal(metrics.parzen_ll.better, "higher");
  assert.ok(Number.isFinite(metrics.parzen_ll.value));
  assert.ok(metrics.parzen_sigma.value > 0);
  assert.equal(metrics.ais_ll, undefined);
  assert.ok(files.has("interpolation.png"));
  gan.model.dispose();

  const vae = build("vae-mlp", dataset.shape);
  const none = await adversarialEvaluation(
    vae.spec as ModelSpec,
    vae.model,
    dataset,
    { parzenSamples: 50, aisCount: 5 },
    Stream.derive(1, "adv"),
    "/run",
    memorySave().save,
  );
  assert.deepEqual(none, {});
  vae.model.dispose();
});

Deno.test("encoder–decoder models get reconstruction metrics and latent views", async () => {
  const dataset = syntheticDataset();
  const { spec, model } = build("vae-mlp", dataset.shape);
  const { files, save } = memorySave();
  const dir = await Deno.makeTempDir(); // the latent views are written there by reports/latent.ts
  const metrics = await reconstructionEvaluation(spec, model, dataset, "binary", 40, dir, save);
  assert.ok(metrics.recon_psnr.value > 0);
  assert.ok(metrics.recon_ssim.value <= 1);
  assert.ok(metrics.active_units.value >= 0 && metrics.active_units.value <= 50);
  // vae-mlp has an ELBO, whose own reconstruction term stays the recon_bce of the run.
  assert.equal(metrics.recon_bce, undefined);
  assert.ok(files.has("latent.json"));
  const views = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(views, ["interpolation.png", "reconstructions.png", "traversal.png"]);
  assert.deepEqual(
    await reconstructionEvaluation(spec, model, dataset, "binary", 0, dir, save),
    {},
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});
