/**
 * Step replay on webgpu (core/webgpu/stepper.ts) on the software adapter: 20 training steps
 * replayed give the same losses and weights, bit for bit, as 20 steps through tfjs; a model
 * whose step uploads a value that is neither the batch, the labels nor a noise draw is not
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
import { webgpuTest, withKernels } from "./_webgpu.ts";

const STEPS = 20;
const BATCH = 8;

/** Small widths, to keep each model's 2×20 steps to seconds on the software adapter. */
const SMALL: Record<string, Record<string, unknown>> = {
  "vae-mlp": { hidden: 32, latent: 8 },
  made: { hidden: 64 },
  "gan-mlp": { latent: 16 },
  "vae-conv": { latent: 8 },
  dcgan: { width: 8, latent: 16 },
};

type Model = Trainable & { weights(): Map<string, tf.Variable>; dispose(): void };

function makeModel(name: string): Model {
  const spec = MODELS.find((m) => m.name === name)!;
  const known = new Set(Object.keys(spec.options));
  const small = Object.fromEntries(Object.entries(SMALL[name]).filter(([k]) => known.has(k)));
  const options = { ...defaultOptions(spec.options), ...small, batchSize: BATCH };
  return spec.create({
    shape: { height: 28, width: 28, channels: 1 },
    options,
    init: Stream.derive(1, "init"),
  }) as unknown as Model;
}

/** Losses of every step and the final weights, as float32 bits. */
async function train(
  model: Model,
  replay: boolean,
): Promise<{ bits: Uint32Array; replayed: boolean; note: string | null }> {
  const data = Stream.derive(1, "data"), noise = Stream.derive(1, "noise");
  const stepper = trainStepper(model, { replay });
  const out: number[] = [];
  try {
    for (let i = 0; i < STEPS; i++) {
      const x = tf.tensor2d(
        Float32Array.from({ length: BATCH * 784 }, () => data.uniform() < 0.5 ? 1 : 0),
        [BATCH, 784],
      );
      const result = stepper.step(x, noise);
      x.dispose();
      out.push(...Object.values(await result.values()));
      result.dispose();
    }
    for (const w of model.weights().values()) for (const v of await w.data()) out.push(v);
    return {
      bits: new Uint32Array(Float32Array.from(out).buffer),
      replayed: stepper.replayed,
      note: stepper.note,
    };
  } finally {
    stepper.dispose();
    model.dispose();
  }
}

for (const name of Object.keys(SMALL)) {
  webgpuTest(`${name}: 20 replayed steps = 20 steps through tfjs, bit for bit`, async () => {
    await withKernels(async () => {
      const plain = await train(makeModel(name), false);
      const replayed = await train(makeModel(name), true);
      assert.equal(replayed.note, null);
      assert.ok(replayed.replayed, "the last step was not replayed");
      assert.equal(replayed.bits.length, plain.bits.length);
      const first = replayed.bits.findIndex((b, i) => b !== plain.bits[i]);
      assert.equal(first, -1, `value ${first} differs`);
    });
  });
}

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
    const plain = await train(new Counting(), false);
    const tried = await train(new Counting(), true);
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
