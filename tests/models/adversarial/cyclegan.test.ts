import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../../core/rng.ts";
import { applyDomainToAll, getDomain, unpairedSplit } from "../../../datasets/domains.ts";
import { loadMnist } from "../../../datasets/mnist.ts";
import { CycleGan, CYCLEGAN_DEFAULTS } from "../../../models/adversarial/cyclegan.ts";

const D = 784;
const unit = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);

/** Central differences of `loss` along a few entries of `variable`, beside tf's gradient. */
function checkGradient(loss: () => tf.Scalar, variable: tf.Variable, entries: number[]): void {
  const { grads } = tf.variableGrads(loss, [variable]);
  const analytic = grads[variable.name].dataSync();
  const base = variable.dataSync().slice();
  const eps = 1e-2;
  for (const i of entries) {
    const at = (delta: number) => {
      const values = base.slice();
      values[i] += delta;
      variable.assign(tf.tensor(values, variable.shape));
      return tf.tidy(() => loss().dataSync()[0]);
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    variable.assign(tf.tensor(base, variable.shape));
    const tol = 2e-3 + 2e-2 * Math.abs(numeric);
    assert.ok(
      Math.abs(numeric - analytic[i]) <= tol,
      `${variable.name}[${i}]: tf ${analytic[i]} vs central difference ${numeric}`,
    );
  }
  tf.dispose(Object.values(grads));
}

Deno.test("cyclegan: gradients of both losses match central differences on a tiny case", () => {
  const model = new CycleGan(0, 1, { ...CYCLEGAN_DEFAULTS, width: 2 }, Stream.derive(1, "init"));
  const noise = Stream.derive(1, "images");
  const a = tf.tensor4d(noise.uniformArray(2 * D), [2, 28, 28, 1]);
  const b = tf.tensor4d(noise.uniformArray(2 * D), [2, 28, 28, 1]);
  const [gKernel] = model.g.variables();
  const fBias = model.f.variables()[7];
  checkGradient(() => model.generatorLoss(a, b).total, gKernel, [0, 5, 17, 30]);
  checkGradient(() => model.generatorLoss(a, b).total, fBias, [0]);
  checkGradient(() => model.discriminatorLoss(a, b), model.dB.head, [0, 3]);
  checkGradient(() => model.discriminatorLoss(a, b), model.dA.variables()[0], [1, 9]);
  tf.dispose([a, b]);
  model.dispose();
});

Deno.test("cyclegan: training lowers the cycle loss, the same seed gives the same run", async () => {
  const mnist = await loadMnist();
  const domains = [getDomain("original"), getDomain("inverted")];
  const small = { images: mnist.train.images, labels: mnist.train.labels, count: 1000 };
  const [partA, partB] = unpairedSplit(small, domains.map((d) => d.domain), 1);
  const n = 16;
  const run = async () => {
    const model = new CycleGan(domains[0].index, domains[1].index, {
      ...CYCLEGAN_DEFAULTS,
      width: 4,
      learningRate: 2e-3,
    }, Stream.derive(1, "cyclegan/init"));
    const cycles: number[] = [];
    for (let step = 0; step < 12; step++) {
      const at = (step * n) % 400;
      const a = unit(partA.images.subarray(at * D, (at + n) * D));
      const b = unit(partB.images.subarray(at * D, (at + n) * D));
      cycles.push((await model.trainStep(a, b, n)).cycle);
    }
    const test = unit(applyDomainToAll(domains[0].domain, mnist.test.images, 4));
    const out = await model.translator()(
      test,
      4,
      domains[0].index,
      domains[1].index,
      new Uint32Array(4),
    );
    assert.equal(out.length, 4 * D);
    assert.ok(out.every((v) => v >= 0 && v <= 1));
    assert.throws(() => model.translator()(test, 4, 0, 2, new Uint32Array(4)), /not 0 → 2/);
    model.dispose();
    return cycles;
  };
  const first = await run();
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  assert.ok(
    mean(first.slice(-3)) < 0.95 * mean(first.slice(0, 3)),
    `cycle loss ${first.map((v) => v.toFixed(3)).join(" ")}`,
  );
  assert.deepEqual(await run(), first);
});
