/**
 * Step replay on webgpu (core/webgpu/stepper.ts) on the software adapter: 20 training steps
 * replayed give the same losses and weights, bit for bit, as 20 steps through tfjs; a model
 * whose step uploads a value that is neither the batch, the labels nor a run of draws is not
 * replayed, says why, and trains as before; the replayed step submits once and builds no bind
 * group. Skipped where no WebGPU adapter exists.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Stream } from "../../core/rng.ts";
import { type Trainable, trainStepper } from "../../core/webgpu/stepper.ts";
import { countGpuCalls } from "../../core/webgpu/tap.ts";
import { MODELS } from "../../models/registry.ts";
import { defaultOptions } from "../../models/options.ts";
import {
  assertReplayMatches,
  type ReplayModel,
  trainReplayed,
  webgpuTest,
  withKernels,
} from "./_webgpu.ts";

const BATCH = 8;

/** Small widths, to keep each model's 2×20 steps to seconds on the software adapter. */
const SMALL: Record<string, Record<string, unknown>> = {
  "vae-mlp": { hidden: 32, latent: 8 },
  made: { hidden: 64 },
  "gan-mlp": { latent: 16 },
  "vae-conv": { latent: 8 },
  dcgan: { width: 8, latent: 16 },
};

function makeModel(name: string): ReplayModel {
  const spec = MODELS.find((m) => m.name === name)!;
  const known = new Set(Object.keys(spec.options));
  const small = Object.fromEntries(Object.entries(SMALL[name]).filter(([k]) => known.has(k)));
  const options = { ...defaultOptions(spec.options), ...small, batchSize: BATCH };
  return spec.create({
    shape: { height: 28, width: 28, channels: 1 },
    options,
    init: Stream.derive(1, "init"),
  }) as unknown as ReplayModel;
}

/** Step i's batch: random binary images of its own stream. */
function binaryBatch(i: number): { x: tf.Tensor2D } {
  const data = Stream.derive(1, `data/${i}`);
  const x = Float32Array.from({ length: BATCH * 784 }, () => data.uniform() < 0.5 ? 1 : 0);
  return { x: tf.tensor2d(x, [BATCH, 784]) };
}

for (const name of Object.keys(SMALL)) {
  webgpuTest(`${name}: 20 replayed steps = 20 steps through tfjs, bit for bit`, async () => {
    await withKernels(() => assertReplayMatches(() => makeModel(name), binaryBatch, true));
  });
}

/**
 * A model whose step draws integers as well as floats, as infogan's codes and stargan's target
 * domains: one category per row (an int32 tensor) and one U(−1, 1) code per row.
 */
class DrawsCodes implements Trainable {
  readonly w = tf.variable(tf.linspace(-1, 1, 4));
  readonly optimizer = tf.train.adam(0.1);
  trainStep(batch: tf.Tensor2D, noise: Stream): Record<string, tf.Scalar> {
    const n = batch.shape[0];
    const categories = tf.tensor1d(Int32Array.from({ length: n }, () => noise.int(4)), "int32");
    const codes = tf.tensor1d(noise.uniformArray(n, -1, 1));
    const loss = this.optimizer.minimize(() => {
      const picked = tf.sum(tf.mul(tf.oneHot(categories, 4), this.w), 1);
      return tf.mean(tf.mul(tf.mul(picked, codes), tf.mean(batch, 1)));
    }, true)!;
    tf.dispose([categories, codes]);
    return { loss };
  }
  optimizers(): tf.Optimizer[] {
    return [this.optimizer];
  }
  weights(): Map<string, tf.Variable> {
    return new Map([["w", this.w]]);
  }
  dispose(): void {
    this.w.dispose();
    this.optimizer.dispose();
  }
}

webgpuTest("drawn integers and codes: replayed, 20 steps = 20 steps through tfjs", async () => {
  await withKernels(() => assertReplayMatches(() => new DrawsCodes(), binaryBatch, true));
});

/** A model that uploads its own step count each step: not replayable. */
class Counting implements Trainable {
  readonly w = tf.variable(tf.zeros([4]));
  readonly optimizer = tf.train.adam(0.1);
  step = 0;
  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    const scale = tf.scalar(++this.step);
    const loss = this.optimizer.minimize(
      () => tf.sum(tf.mul(tf.mul(this.w, scale), tf.mean(batch, 0).slice([0], [4]))),
      true,
    )!;
    scale.dispose();
    return { loss };
  }
  optimizers(): tf.Optimizer[] {
    return [this.optimizer];
  }
  weights(): Map<string, tf.Variable> {
    return new Map([["w", this.w]]);
  }
  dispose(): void {
    this.w.dispose();
    this.optimizer.dispose();
  }
}

webgpuTest("a step uploading a host value of its own is not replayed, and says why", async () => {
  await withKernels(async () => {
    const plain = await trainReplayed(new Counting(), false, binaryBatch);
    const tried = await trainReplayed(new Counting(), true, binaryBatch);
    assert.match(tried.note ?? "", /upload of 4 bytes changes from step to step/);
    assert.ok(!tried.replayed);
    assert.deepEqual(tried.bits, plain.bits);
  });
});

webgpuTest(
  "a replayed vae-mlp step: one submit, no bind group, the batch and noise written",
  async () => {
    await withKernels(async () => {
      const model = makeModel("vae-mlp");
      const stepper = trainStepper(model, { replay: true });
      const noise = Stream.derive(1, "noise");
      const step = () => {
        const x = tf.tensor2d(new Float32Array(BATCH * 784).fill(1), [BATCH, 784]);
        const result = stepper.step(x, noise);
        x.dispose();
        return result;
      };
      try {
        for (let i = 0; i < 4; i++) await step().values();
        const { result, counts } = await countGpuCalls(step);
        await result.values();
        assert.ok(stepper.replayed);
        assert.equal(counts.submits, 1);
        assert.equal(counts.bindGroups, 0);
        assert.equal(counts.mappedUploads, 0);
        assert.equal(counts.writeBuffers, 2); // the batch and the noise ε
        assert.equal(counts.passes, stepper.counts!.passes);
      } finally {
        stepper.dispose();
        model.dispose();
      }
    });
  },
);
