import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  captureModel,
  checkModelFits,
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  restoreModel,
} from "../../core/checkpoint.ts";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import { inputBatch } from "../../datasets/batch.ts";
import { dimOf } from "../../datasets/dataset.ts";
import { getModel, MODELS } from "../../models/registry.ts";
import { type GenerativeModel, inputKindOf, type ModelOptions } from "../../models/model.ts";
import { defaultOptions } from "../../models/options.ts";

await tf.setBackend("cpu");
const data = syntheticDataset({ trainCount: 120, testCount: 10 });
const dim = dimOf(data.shape);

function create(name: string, options: ModelOptions = {}): GenerativeModel {
  const spec = getModel(name);
  return spec.create({
    shape: data.shape,
    options: { ...defaultOptions(spec.options), batchSize: 8, ...options },
    init: Stream.derive(5, "init"),
  });
}

/** `steps` training steps on fixed rows, drawing binarization and noise from `streams`. */
function train(name: string, model: GenerativeModel, streams: Stream[], steps: number, from = 0) {
  const spec = getModel(name);
  const kind = inputKindOf(spec, defaultOptions(spec.options));
  // As the runner: labels for conditional models and those that train on a split of their own.
  const conditional = spec.capabilities.includes("conditional") || spec.trainingSplit !== undefined;
  for (let step = from; step < steps + from; step++) {
    const rows = Array.from({ length: 8 }, (_, i) => (step * 8 + i) % data.train.count);
    const x = inputBatch(data.train.images, null, dim, rows, kind, streams[0]);
    const labels = conditional
      ? tf.tensor1d(rows.map((r) => data.train.labels[r]), "int32")
      : undefined;
    tf.dispose(Object.values(model.trainStep(x, streams[1], labels)));
    tf.dispose([x, labels ?? []].flat());
  }
}

/** Narrow sizes for the options a model has, so that every model trains fast here. */
function small(name: string): ModelOptions {
  const narrow: ModelOptions = {
    hidden: 16,
    channels: 8,
    width: 8,
    blocks: 2,
    layers: 2,
    // puzzle-gan's patches must fit the 12×12 test images.
    patchSize: 4,
    margin: 1,
  };
  const defaults = defaultOptions(getModel(name).options);
  return Object.fromEntries(Object.entries(narrow).filter(([key]) => key in defaults));
}

async function weightsOf(model: GenerativeModel): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, v] of model.weights()) out[name] = Array.from(await v.data());
  return out;
}

async function snapshot(model: GenerativeModel): Promise<Uint8Array> {
  const { blobs, optimizers } = await captureModel(model);
  return encodeCheckpoint({ run: { note: "test" }, optimizers }, blobs);
}

// bernoulli is cheap enough to train past the step where Adam's β^t accumulators, rebuilt by
// setWeights, would differ from the trained ones (see the next test). Every registered model is
// checked: a model whose training state is not in weights() and optimizers() fails here.
const BEFORE: Record<string, number> = { bernoulli: 200, "vae-mlp": 3, "gan-mlp": 3 };

for (const name of MODELS.map((spec) => spec.name)) {
  Deno.test(`${name}: restoring a checkpoint into a fresh model continues bit for bit`, async () => {
    const streams = [Stream.derive(1, "bin"), Stream.derive(1, "noise")];
    const a = create(name, small(name));
    const before = BEFORE[name] ?? 2;
    const after = BEFORE[name] ? 4 : 2;
    train(name, a, streams, before);
    const bytes = await snapshot(a);
    const saved = streams.map((s) => s.state());
    train(name, a, streams, after, before);
    const expected = await weightsOf(a);

    const b = create(name, small(name));
    await restoreModel(decodeCheckpoint(bytes, "test"), b, "test");
    train(name, b, saved.map((s) => Stream.fromState(s)), after, before);
    assert.deepEqual(await weightsOf(b), expected);
    // And the restored optimizers are the same too: the next checkpoints are byte-identical.
    assert.deepEqual(await snapshot(b), await snapshot(a));
    a.dispose();
    b.dispose();
  });
}

Deno.test("Adam's β^t accumulators are saved: setWeights alone would not restore them exactly", async () => {
  // tfjs recomputes accBeta1 = pow(β1, t+1) in setWeights; training builds it by repeated
  // float32 multiplication. The two differ after enough steps, which is why the checkpoint
  // saves the optimizer's internal variables as well.
  const optimizer = tf.train.adam(0.01);
  const v = tf.variable(tf.zeros([1]));
  for (let t = 0; t < 200; t++) optimizer.minimize(() => tf.sum(tf.square(tf.sub(v, 1))));
  const internal = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  const built = [(await internal.accBeta1.data())[0], (await internal.accBeta2.data())[0]];
  const recomputed = [
    (await tf.pow(tf.scalar(0.9), 201).data())[0],
    (await tf.pow(tf.scalar(0.999), 201).data())[0],
  ];
  assert.notDeepEqual(built, recomputed);
  optimizer.dispose();
  v.dispose();
});

Deno.test("bad checkpoints are refused in one line: version, format, truncation, damage", async () => {
  const model = create("bernoulli");
  train("bernoulli", model, [Stream.derive(1, "a"), Stream.derive(1, "b")], 2);
  const good = await snapshot(model);
  const rewrite = (edit: (header: Record<string, unknown>) => void) => {
    const length = new DataView(good.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(4, 4 + length)));
    edit(header);
    // Same length, so the data section stays where it was.
    const text = JSON.stringify(header).padEnd(length, " ");
    assert.equal(text.length, length);
    const out = good.slice();
    out.set(new TextEncoder().encode(text), 4);
    return out;
  };
  const cases: [Uint8Array, RegExp][] = [
    [rewrite((h) => (h.version = CHECKPOINT_VERSION + 1)), /version 2 is not supported/],
    [rewrite((h) => (h.format = "other")), /not a genbench-checkpoint file/],
    [good.subarray(0, good.length - 4), /truncated checkpoint data/],
    [good.subarray(0, 10), /truncated checkpoint header/],
    [new Uint8Array(2), /truncated checkpoint \(2 bytes/],
    [Uint8Array.from([...good, 0, 0, 0, 0]), /4 unexpected bytes after the data/],
    [
      (() => {
        const out = good.slice();
        out[out.length - 1] ^= 1;
        return out;
      })(),
      /does not match its checksum/,
    ],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeCheckpoint(bytes, "ck.bin"), (error: Error) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, pattern);
      assert.match(error.message, /^ck\.bin: /);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
  await assert.rejects(readCheckpoint("/nonexistent/ck.bin"), /cannot read checkpoint/);
  model.dispose();
});

Deno.test("a checkpoint of another shape or model is refused before anything changes", async () => {
  const vae = create("vae-mlp", { hidden: 16, latent: 4 });
  train("vae-mlp", vae, [Stream.derive(1, "a"), Stream.derive(1, "b")], 1);
  const checkpoint = decodeCheckpoint(await snapshot(vae), "ck.bin");
  const wider = create("vae-mlp", { hidden: 20, latent: 4 });
  const before = await weightsOf(wider);
  assert.throws(
    () => checkModelFits(checkpoint, wider, "ck.bin"),
    /^UsageError: ck\.bin: weight "enc\/h1\/kernel" has shape \[144,16\] in the checkpoint, the model expects \[144,20\]$/,
  );
  await assert.rejects(restoreModel(checkpoint, wider, "ck.bin"), UsageError);
  assert.deepEqual(await weightsOf(wider), before);
  const gan = create("gan-mlp");
  assert.throws(() => checkModelFits(checkpoint, gan, "ck.bin"), /checkpoint has no weight "g\//);
  for (const m of [vae, wider, gan]) m.dispose();
});

Deno.test("readCheckpoint reads what encodeCheckpoint wrote, arrays and types intact", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "ck.bin");
  const order = Uint32Array.from([3, 0, 2, 1]);
  await Deno.writeFile(
    path,
    encodeCheckpoint({ run: { step: 7 }, optimizers: [] }, [
      { name: "run/order", dtype: "uint32", shape: [4], data: order },
      { name: "x", dtype: "int32", shape: [2, 1], data: Int32Array.from([-5, 9]) },
      { name: "y", dtype: "float32", shape: [], data: Float32Array.from([0.1]) },
    ]),
  );
  const read = await readCheckpoint(path);
  assert.deepEqual(read.meta.run, { step: 7 });
  assert.deepEqual(read.blobs.get("run/order")!.data, order);
  assert.deepEqual(read.blobs.get("x")!.data, Int32Array.from([-5, 9]));
  assert.deepEqual(read.blobs.get("x")!.shape, [2, 1]);
  assert.deepEqual(read.blobs.get("y")!.data, Float32Array.from([0.1]));
  await Deno.remove(dir, { recursive: true });
});
