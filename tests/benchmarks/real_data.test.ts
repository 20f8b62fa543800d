/**
 * Issue 17 at the evaluation level: every number carries what it was computed on (test subset
 * and its seed, samples, reference, σ), FID columns keep one reference each, the real-data rows
 * hold the floor/ceiling under the same protocol, and samples.idx is exactly what was scored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { selectBackend } from "../../core/backend.ts";
import { provenance } from "../../core/provenance.ts";
import { Stream } from "../../core/rng.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import type { Dataset } from "../../datasets/dataset.ts";
import { parseIdx } from "../../datasets/idx.ts";
import { getModel } from "../../models/registry.ts";
import { inputKindOf, type ModelSpec } from "../../models/model.ts";
import { extractFeatures } from "../../metrics/features/classifier.ts";
import { fid } from "../../metrics/features/fid.ts";
import { evaluateModel } from "../../benchmarks/evaluations.ts";
import type { EvaluationContext } from "../../benchmarks/evaluations/context.ts";
import { featureReference } from "../../benchmarks/evaluations/features.ts";
import { parseMetricsFile, parseRunRecord, type RunConfig } from "../../benchmarks/record.ts";
import { freshStreams } from "../../benchmarks/train_state.ts";
import { collectRun } from "../../reports/collect.ts";
import { defaultOptions } from "../../models/options.ts";
import { minimalProtocol } from "./_protocol.ts";

const backend = await selectBackend("cpu");

const PROTOCOL: RunConfig = minimalProtocol(10_000);

/** A run folder with a run.json (as the runner writes first) and the model's context. */
async function runContext(
  name: string,
  dataset: Dataset,
  protocol: Partial<RunConfig>,
  out: string,
): Promise<{ context: EvaluationContext; files: Map<string, Uint8Array> }> {
  const spec = getModel(name) as ModelSpec;
  const model = spec.create({
    shape: dataset.shape,
    options: { ...defaultOptions(spec.options), batchSize: 16 },
    init: Stream.derive(1, "init"),
    train: dataset.train,
  });
  const runDir = join(out, "runs", `${name}-run`);
  await Deno.mkdir(runDir, { recursive: true });
  const record = {
    run_id: `${name}-run`,
    status: "running",
    suite: "test-suite",
    model: name,
    family: spec.family,
    variant: null,
    seed: 1,
    streams: [],
    config: { ...PROTOCOL, ...protocol },
    provenance: await provenance(backend, dataset),
    started_at: new Date().toISOString(),
    finished_at: null,
    wall_seconds: null,
  };
  await Deno.writeTextFile(join(runDir, "run.json"), JSON.stringify(record));
  const files = new Map<string, Uint8Array>();
  const streams = freshStreams(1);
  const context: EvaluationContext = {
    spec,
    model,
    dataset,
    kind: inputKindOf(spec, defaultOptions(spec.options)),
    config: { ...PROTOCOL, ...protocol },
    streams,
    noise: (n) => streams.evaluation.child("extras").child(n),
    runDir,
    save: (path, bytes) => Promise.resolve(void files.set(path.split("/").pop()!, bytes)),
  };
  return { context, files };
}

const evaluate = ({ noise: _, ...context }: EvaluationContext) => evaluateModel(context);

const dataset = syntheticDataset({ size: 28, trainCount: 400, testCount: 150 });

Deno.test("a grey sampler: fid against test-grey, Parzen with its protocol, the real-data row beside it", async () => {
  const out = await Deno.makeTempDir();
  const { context, files } = await runContext("gan-mlp", dataset, {
    feature_samples: 100,
    parzen_samples: 60,
  }, out);
  const metrics = await evaluate(context);
  assert.equal(metrics.fid.reference, "test-grey");
  assert.equal(metrics.fid.samples, 100);
  assert.equal(metrics.fid_binary, undefined);
  const parzen = metrics.parzen_ll;
  assert.deepEqual(
    [parzen.samples, parzen.n, parzen.subset_seed, parzen.reference],
    [60, 60, 1, "test-grey"],
  );
  assert.equal(parzen.sigma, metrics.parzen_sigma.value);

  // samples.idx holds exactly what was scored: re-scoring it gives the reported FID.
  const idx = parseIdx(files.get("samples.idx")!, "samples.idx");
  const { extractor, reference } = await featureReference(dataset, "test-grey");
  const saved = await extractFeatures(extractor, Float32Array.from(idx.data, (b) => b / 255), 100);
  assert.equal(fid(saved, reference), metrics.fid.value);

  // The real-data row: training images under the same protocol, a run folder reports collect.
  const realDir = join(out, "runs", "real-data-test-grey-synthetic");
  const real = await collectRun(realDir);
  assert.ok(real);
  assert.equal(real.model, "real-data");
  assert.equal(real.variant, "test-grey");
  assert.equal(real.suite, "test-suite");
  assert.equal(real.status, "finished");
  assert.equal(real.metrics.fid.reference, "test-grey");
  assert.equal(real.metrics.fid.samples, 100);
  assert.ok(real.metrics.fid.value < metrics.fid.value, "real images beat an untrained GAN");
  assert.deepEqual(
    [real.metrics.parzen_ll.samples, real.metrics.parzen_ll.n, real.metrics.parzen_ll.reference],
    [60, 60, "test-grey"],
  );
  assert.ok(real.metrics.parzen_ll.value > parzen.value, "the Parzen ceiling");
  const text = await Deno.readTextFile(join(realDir, "metrics.json"));
  assert.equal(parseMetricsFile(text, "metrics.json").model, "real-data");
  parseRunRecord(await Deno.readTextFile(join(realDir, "run.json")), "run.json", true);
  context.model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("a binary sampler: its feature metrics are named for the binarized reference", async () => {
  const out = await Deno.makeTempDir();
  const { context } = await runContext("bernoulli", dataset, { feature_samples: 100 }, out);
  const metrics = await evaluate(context);
  for (const name of ["fid", "kid", "kid_std", "precision", "recall"]) {
    assert.equal(metrics[name], undefined, `${name} would mix references`);
    assert.equal(metrics[`${name}_binary`].reference, "test-binary", name);
  }
  assert.equal(metrics.is_score.samples, 100);
  const real = await collectRun(join(out, "runs", "real-data-test-binary-synthetic"));
  assert.ok(real!.metrics.fid_binary.value < metrics.fid_binary.value);
  assert.equal(real!.metrics.parzen_ll, undefined, "Parzen is on grey images only");
  context.model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("subsets are recorded with n and seed; the full test set carries no seed", async () => {
  const out = await Deno.makeTempDir();
  const { context } = await runContext("vae-mlp", syntheticDataset(), {
    eval_count: 50,
    recon_count: 40,
  }, out);
  const metrics = await evaluate(context);
  for (const name of ["nll_nats", "elbo_nats", "kl_nats", "elbo_recon_nats"]) {
    assert.deepEqual([metrics[name].n, metrics[name].subset_seed], [50, 1], name);
  }
  // recon_bce is the posterior-mean reconstruction for every encoder–decoder model, VAEs too.
  for (const name of ["recon_bce", "recon_mse", "recon_psnr"]) {
    assert.deepEqual([metrics[name].n, metrics[name].subset_seed], [40, 1], name);
  }
  assert.ok(metrics.recon_bce.value < metrics.elbo_recon_nats.value + 50);
  const all = await evaluate({ ...context, config: { ...context.config, eval_count: 10_000 } });
  assert.equal(all.nll_nats.n, 200);
  assert.equal(all.nll_nats.subset_seed, undefined);
  context.model.dispose();
  await Deno.remove(out, { recursive: true });
});
