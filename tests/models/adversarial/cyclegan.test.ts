import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import { applyDomainToAll, getDomain } from "../../../datasets/domains.ts";
import { loadMnist } from "../../../datasets/mnist.ts";
import { syntheticDataset } from "../../../datasets/synthetic.ts";
import { CycleGan, cyclegan, CYCLEGAN_OPTIONS } from "../../../models/adversarial/cyclegan.ts";
import { defaultOptions, readOptions } from "../../../models/options.ts";
import { domainWeights } from "../../../models/adversarial/translation_nets.ts";
import { checkDirectional, checkGradient } from "./_gradient.ts";

await tf.setBackend("cpu");

const SMALL = { height: 12, width: 12, channels: 1 };
const GRAD = { height: 20, width: 20, channels: 1 };
const options = (extra: Record<string, number | string> = {}) =>
  readOptions("cyclegan", CYCLEGAN_OPTIONS, { ...defaultOptions(CYCLEGAN_OPTIONS), ...extra });

/** The paper's losses on a batch of n images of A and n of B (batch means, no masks). */
function unmaskedLosses(model: CycleGan, a: tf.Tensor4D, b: tf.Tensor4D) {
  const lsq = (s: tf.Tensor, t: number) => tf.mean(tf.square(tf.sub(s, t)));
  const l1 = (x: tf.Tensor, y: tf.Tensor) => tf.mean(tf.abs(tf.sub(x, y)));
  const fakeB = model.g.apply(a);
  const fakeA = model.f.apply(b);
  const adversarial = tf.add(
    lsq(model.dB.apply(fakeB).scores, 1),
    lsq(model.dA.apply(fakeA).scores, 1),
  );
  const cycle = tf.add(l1(model.f.apply(fakeB), a), l1(model.g.apply(fakeA), b));
  const identity = tf.add(l1(model.g.apply(b), b), l1(model.f.apply(a), a));
  const { cycleWeight, identityWeight } = model.options;
  const generator = tf.addN([
    adversarial,
    tf.mul(cycle, cycleWeight),
    tf.mul(identity, identityWeight),
  ]);
  const discriminator = (fA: tf.Tensor4D, fB: tf.Tensor4D) =>
    tf.mul(
      tf.addN([
        lsq(model.dA.apply(a).scores, 1),
        lsq(model.dA.apply(fA).scores, 0),
        lsq(model.dB.apply(b).scores, 1),
        lsq(model.dB.apply(fB).scores, 0),
      ]),
      0.5,
    ) as tf.Scalar;
  return { generator: generator as tf.Scalar, adversarial, cycle, identity, discriminator };
}

/** The row weights of labels (0: A, 1: B), as trainStep derives them. */
function weightsOf(labels: number[]) {
  const y = tf.tensor1d(labels, "int32");
  const weights = { toA: domainWeights(y, 0), toB: domainWeights(y, 1) };
  y.dispose();
  return weights;
}

Deno.test("cyclegan: gradients of the masked losses match central differences on a tiny case", () => {
  // 20×20: a 5×5 bottleneck, where instance norm's statistics are smooth enough for differences.
  const model = new CycleGan(GRAD, options({ width: 2, blocks: 1 }), Stream.derive(1, "init"));
  const noise = Stream.derive(1, "images");
  // Three rows, mixed domains (B, A, B): the weights select the terms.
  // Binary pixels: a sigmoid output never reaches 0 or 1, so no L1 term has a kink nearby.
  const pixels = noise.uniformArray(3 * 400).map((u) => (u < 0.3 ? 1 : 0));
  const x = tf.tensor4d(pixels, [3, 20, 20, 1]);
  const { toA, toB } = weightsOf([1, 0, 1]);
  const fakeA = model.f.apply(x);
  const fakeB = model.g.apply(x);
  const g = () => model.generatorLoss(x, toA, toB).total;
  const d = () => model.discriminatorLoss(x, fakeA, fakeB, toA, toB);
  checkDirectional(g, model.g.down[0].kernel, 1);
  checkDirectional(g, model.f.down[1].kernel, 2);
  checkGradient(g, model.f.up[1].bias, [0], { eps: 1e-3 });
  checkDirectional(g, model.g.blocks[0][1].kernel, 3);
  checkDirectional(g, model.g.up[1].kernel, 4);
  checkGradient(d, model.dB.head, [0, 3], { eps: 1e-3 });
  checkDirectional(d, model.dA.down[0].kernel, 5);
  checkDirectional(d, model.dB.down[1].kernel, 6);
  tf.dispose([x, toA, toB, fakeA, fakeB]);
  model.dispose();
});

Deno.test("cyclegan: on n rows of A then n of B the masked step is the paper's batch-mean step", async () => {
  const init = () => Stream.derive(2, "init");
  const masked = new CycleGan(SMALL, options({ width: 3 }), init());
  const plain = new CycleGan(SMALL, options({ width: 3 }), init());
  const noise = Stream.derive(2, "images");
  const n = 3;
  const a = tf.tensor4d(noise.uniformArray(n * 144), [n, 12, 12, 1]);
  const b = tf.tensor4d(noise.uniformArray(n * 144), [n, 12, 12, 1]);
  const labelList = [...Array(n).fill(0), ...Array(n).fill(1)];
  const { toA, toB } = weightsOf(labelList);
  assert.deepEqual(Array.from(toA.dataSync()), [1 / 3, 1 / 3, 1 / 3, 0, 0, 0].map(Math.fround));
  const x = tf.concat([a, b]) as tf.Tensor4D;
  // The losses agree...
  const maskedLoss = masked.generatorLoss(x, toA, toB);
  const plainLoss = unmaskedLosses(plain, a, b);
  for (const key of ["adversarial", "cycle", "identity"] as const) {
    assert.ok(Math.abs(maskedLoss[key].dataSync()[0] - plainLoss[key].dataSync()[0]) < 1e-6, key);
  }
  // ...and so does one step of each player, weights compared after it.
  const labels = tf.tensor1d(labelList, "int32");
  const batch = tf.reshape(x, [2 * n, 144]) as tf.Tensor2D;
  tf.dispose(Object.values(masked.trainStep(batch, Stream.derive(1, "noise"), labels)));
  const { learningRate, beta1 } = plain.options;
  const optG = tf.train.adam(learningRate, beta1);
  const optD = tf.train.adam(learningRate, beta1);
  optG.minimize(() => unmaskedLosses(plain, a, b).generator, false, plain.generatorVariables());
  const [fA, fB] = [plain.f.apply(b), plain.g.apply(a)];
  optD.minimize(
    () => unmaskedLosses(plain, a, b).discriminator(fA, fB),
    false,
    plain.discriminatorVariables(),
  );
  const expected = plain.weights();
  for (const [name, weight] of masked.weights()) {
    // A bias just before an instance norm has a zero gradient up to rounding, which Adam scales
    // to a full step either way: its value says nothing about the two formulas.
    if (/(down2|up1|block\d+[ab])\/bias$/.test(name)) continue;
    const got = Array.from(await weight.data());
    const want = await expected.get(name)!.data();
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    assert.ok(worst < 1e-6, `${name}: differs by ${worst}`);
  }
  optG.dispose();
  optD.dispose();
  masked.dispose();
  plain.dispose();
});

Deno.test("cyclegan: trainingSplit deals disjoint digits into A (label 0) and B (label 1)", () => {
  const data = syntheticDataset({ trainCount: 101, testCount: 4 });
  const split = cyclegan.trainingSplit!(data.train, data.shape, defaultOptions(CYCLEGAN_OPTIONS));
  const half = split.count / 2;
  assert.equal(split.count % 2, 0);
  assert.deepEqual([...split.labels], [...Array(half).fill(0), ...Array(half).fill(1)]);
  assert.ok(split.count <= 101, `${split.count}`);
  assert.equal(split.images.length, split.count * 144);
});

Deno.test("cyclegan: sizes it cannot halve twice and a domain paired with itself are refused in one line", () => {
  const init = Stream.derive(1, "init");
  assert.throws(
    () => new CycleGan({ height: 14, width: 14, channels: 1 }, options(), init),
    (e: Error) => e instanceof UsageError && /14×14 does not fit/.test(e.message),
  );
  assert.throws(
    () => new CycleGan(SMALL, options({ domainB: "original" }), init),
    (e: Error) => e instanceof UsageError && /both "original"/.test(e.message),
  );
  const model = new CycleGan(SMALL, options(), init);
  const x = tf.zeros([2, 144]) as tf.Tensor2D;
  assert.throws(() => model.trainStep(x, init), /needs one domain label/);
  assert.throws(
    () => model.translation().translate(new Float32Array(144), 1, 0, 1, new Uint32Array(1)),
    /not 0 → 1/,
  );
  x.dispose();
  model.dispose();
});

Deno.test("cyclegan: on MNIST, training lowers the cycle loss and the same seed gives the same run", async () => {
  const mnist = await loadMnist();
  const small = { images: mnist.train.images, labels: mnist.train.labels, count: 1000 };
  const opts = options({ width: 4, learningRate: 3e-3, domainB: "inverted" });
  const split = cyclegan.trainingSplit!(small, mnist.shape, opts);
  const half = split.count / 2;
  const run = async (steps: number) => {
    const model = cyclegan.create({
      shape: mnist.shape,
      options: opts,
      init: Stream.derive(1, "init"),
    });
    const order = Stream.derive(1, "order");
    const cycles: number[] = [];
    for (let step = 0; step < steps; step++) {
      // A random mix of A and B rows, as the runner's batches are.
      const rows = Array.from({ length: 32 }, () => order.int(split.count));
      const x = tf.tensor2d(
        Float32Array.from(
          rows.flatMap((r) => [...split.images.subarray(r * 784, (r + 1) * 784)]),
          (v) => v / 255,
        ),
        [32, 784],
      );
      const labels = tf.tensor1d(rows.map((r) => split.labels[r]), "int32");
      const losses = model.trainStep(x, order, labels);
      cycles.push((await losses.cycle.data())[0]);
      tf.dispose([x, labels, ...Object.values(losses)]);
    }
    const test = Float32Array.from(
      applyDomainToAll(getDomain("original").domain, mnist.test.images, 4),
      (v) => v / 255,
    );
    const out = await model.translation!().translate(test, 4, 0, 1, new Uint32Array(4));
    assert.equal(out.length, 4 * 784);
    assert.ok(out.every((v) => v >= 0 && v <= 1));
    model.dispose();
    return cycles;
  };
  assert.ok(half > 400);
  const first = await run(16);
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  assert.ok(
    mean(first.slice(-3)) < 0.95 * mean(first.slice(0, 3)),
    `cycle loss ${first.map((v) => v.toFixed(3)).join(" ")}`,
  );
  // The same seed again: the same losses, step for step (the first four suffice).
  assert.deepEqual(await run(4), first.slice(0, 4));
});
