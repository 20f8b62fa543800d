import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import { syntheticDataset } from "../../../datasets/synthetic.ts";
import {
  crossEntropy,
  StarGan,
  stargan,
  STARGAN_OPTIONS,
  starganDomains,
} from "../../../models/adversarial/stargan.ts";
import { defaultOptions, readOptions } from "../../../models/options.ts";
import { checkGradient } from "./_gradient.ts";

await tf.setBackend("cpu");

const SMALL = { height: 12, width: 12, channels: 1 };
const options = (extra: Record<string, number | string> = {}) =>
  readOptions("stargan", STARGAN_OPTIONS, { ...defaultOptions(STARGAN_OPTIONS), ...extra });
const codes = (labels: number[], k: number) =>
  tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), k), "float32") as tf.Tensor2D;

Deno.test("stargan: the cross-entropy is −log softmax of the true class, averaged (by hand)", () => {
  const logits = [[1, 2, 0.5], [-1, 0, 3]];
  const labels = [1, 2];
  const expected = logits.reduce((sum, row, i) => {
    const logZ = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    return sum + (logZ - row[labels[i]]);
  }, 0) / 2;
  const got = crossEntropy(tf.tensor2d(logits), codes(labels, 3)).dataSync()[0];
  assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
});

Deno.test("stargan: gradients of both losses match central differences on a tiny case", () => {
  // 20×20: a 5×5 bottleneck, where instance norm's statistics are smooth enough for differences.
  const model = new StarGan(
    { height: 20, width: 20, channels: 1 },
    options({ width: 2, blocks: 1, domains: "original,inverted,thick" }),
    Stream.derive(1, "init"),
  );
  const noise = Stream.derive(1, "images");
  // Binary pixels: a sigmoid output never reaches 0 or 1, so no L1 term has a kink nearby.
  const pixels = noise.uniformArray(3 * 400).map((u) => (u < 0.3 ? 1 : 0));
  const x = tf.tensor4d(pixels, [3, 20, 20, 1]);
  const source = codes([0, 2, 1], 3);
  const target = codes([1, 0, 2], 3);
  const fake = model.generate(x, target);
  const g = () => model.generatorLoss(x, source, target).total;
  const d = () => model.discriminatorLoss(x, fake, source).total;
  checkGradient(g, model.g.down[0].kernel, [0, 7, 40], { eps: 1e-3 });
  checkGradient(g, model.g.blocks[0][0].bias, [1], { eps: 1e-3 });
  checkGradient(g, model.g.up[1].bias, [0], { eps: 1e-3 });
  checkGradient(d, model.d.classHead!, [0, 5, 13], { eps: 1e-3 });
  checkGradient(d, model.d.down[1].kernel, [2, 50], { eps: 1e-3 });
  checkGradient(d, model.d.head, [1], { eps: 1e-3 });
  tf.dispose([x, source, target, fake]);
  model.dispose();
});

Deno.test("stargan: the domains option names at least two distinct domains, in order", () => {
  assert.deepEqual(starganDomains("all"), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(starganDomains("thick, original"), [2, 0]);
  for (const bad of ["original", "original,original", "original,plaid"]) {
    assert.throws(() => starganDomains(bad), UsageError, bad);
  }
  const split = stargan.trainingSplit!(
    syntheticDataset({ trainCount: 90, testCount: 4 }).train,
    SMALL,
    { ...defaultOptions(STARGAN_OPTIONS), domains: "original,inverted,thick" },
  );
  // The parts in order, each labelled by its position in the option (duplicates stay together,
  // so the parts may differ by a few images).
  const labels = [...split.labels];
  assert.deepEqual([...new Set(labels)], [0, 1, 2]);
  assert.ok(labels.every((y, i) => i === 0 || y >= labels[i - 1]));
  assert.equal(split.images.length, split.count * 144);
});

Deno.test("stargan: a step has one shape whatever the labels; same seed, same losses; translations refuse other domains", async () => {
  const opts = options({ width: 3, blocks: 1, domains: "original,inverted,thick" });
  const data = syntheticDataset({ trainCount: 60, testCount: 4 });
  const run = async (labelList: number[]) => {
    const model = new StarGan(SMALL, opts, Stream.derive(3, "init"));
    const noise = Stream.derive(3, "noise");
    const x = tf.tensor2d(
      Float32Array.from(data.train.images.subarray(0, 8 * 144), (v) => v / 255),
      [8, 144],
    );
    const labels = tf.tensor1d(labelList, "int32");
    const out: number[] = [];
    for (let step = 0; step < 3; step++) {
      const losses = model.trainStep(x, noise, labels);
      out.push(...(await Promise.all(Object.values(losses).map(async (s) => (await s.data())[0]))));
      tf.dispose(Object.values(losses));
    }
    const translated = await model.translation().translate(
      new Float32Array(2 * 144),
      2,
      0,
      2,
      new Uint32Array(2),
    );
    assert.equal(translated.length, 2 * 144);
    assert.throws(
      () => model.translation().translate(new Float32Array(144), 1, 0, 5, new Uint32Array(1)),
      /not 0 → 5/,
    );
    tf.dispose([x, labels]);
    model.dispose();
    return out;
  };
  const first = await run([0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(first.every(Number.isFinite));
  assert.deepEqual(await run([0, 0, 0, 0, 0, 0, 0, 0]), first);
  const mixed = await run([2, 1, 0, 2, 2, 1, 0, 0]);
  assert.ok(mixed.every(Number.isFinite));
  assert.notDeepEqual(mixed, first);
});
