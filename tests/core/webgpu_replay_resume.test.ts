/**
 * Checkpoints, resumption and evaluation after replayed training on webgpu (the software
 * adapter): a checkpoint written after replayed steps is byte for byte the one written after the
 * same steps through tfjs; training resumed from it (replayed again) ends with the same losses,
 * weights and test ELBO as the uninterrupted runs. Skipped where no WebGPU adapter exists.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Stream, type StreamState } from "../../core/rng.ts";
import { trainStepper } from "../../core/webgpu/stepper.ts";
import {
  captureModel,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreModel,
} from "../../core/checkpoint.ts";
import { MODELS } from "../../models/registry.ts";
import { defaultOptions } from "../../models/options.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { webgpuTest, withKernels } from "./_webgpu.ts";

const BATCH = 8;
const STEPS = 12;
const CHECKPOINT_AT = 6;

function vae(): GenerativeModel {
  const spec = MODELS.find((m) => m.name === "vae-mlp")!;
  return spec.create({
    shape: { height: 28, width: 28, channels: 1 },
    options: { ...defaultOptions(spec.options), hidden: 32, latent: 8, batchSize: BATCH },
    init: Stream.derive(1, "init"),
  });
}

/** The batch of step `i` (1-based), the same in every session. */
function batchOf(i: number): tf.Tensor2D {
  const s = Stream.derive(1, `data-${i}`);
  return tf.tensor2d(
    Float32Array.from({ length: BATCH * 784 }, () => s.uniform() < 0.5 ? 1 : 0),
    [BATCH, 784],
  );
}

interface Session {
  checkpoint: Uint8Array | null;
  noiseAtCheckpoint: StreamState | null;
  /** Losses of the steps run, final weights and the test ELBO terms, as float32 bits. */
  bits: Uint32Array;
}

async function session(
  replay: boolean,
  resume?: { checkpoint: Uint8Array; noise: StreamState },
): Promise<Session> {
  const model = vae();
  const noise = resume ? Stream.fromState(resume.noise) : Stream.derive(1, "noise");
  if (resume) await restoreModel(decodeCheckpoint(resume.checkpoint, "test"), model, "test");
  const stepper = trainStepper(model, { replay });
  const out: number[] = [];
  let checkpoint: Uint8Array | null = null, noiseAtCheckpoint: StreamState | null = null;
  try {
    for (let i = resume ? CHECKPOINT_AT + 1 : 1; i <= STEPS; i++) {
      const x = batchOf(i);
      const result = stepper.step(x, noise);
      x.dispose();
      out.push(...Object.values(await result.values()));
      result.dispose();
      if (i === CHECKPOINT_AT && !resume) {
        const { blobs, optimizers } = await captureModel(model);
        checkpoint = encodeCheckpoint({ run: {}, optimizers }, blobs);
        noiseAtCheckpoint = noise.state();
      }
    }
    if (replay) assert.ok(stepper.replayed, "the last step was not replayed");
    for (const w of model.weights().values()) for (const v of await w.data()) out.push(v);
    const test = batchOf(1000);
    const terms = model.elbo!(test, Stream.derive(1, "eval"));
    for (const t of [terms.elbo, terms.recon, terms.kl]) {
      for (const v of await t.data()) out.push(v);
    }
    tf.dispose([test, terms.elbo, terms.recon, terms.kl]);
  } finally {
    stepper.dispose();
    model.dispose();
  }
  return { checkpoint, noiseAtCheckpoint, bits: new Uint32Array(Float32Array.from(out).buffer) };
}

webgpuTest("after replayed training: the same checkpoint, resume and test ELBO", async () => {
  await withKernels(async () => {
    const plain = await session(false);
    const replayed = await session(true);
    assert.deepEqual(replayed.checkpoint, plain.checkpoint, "checkpoints differ");
    assert.deepEqual(replayed.bits, plain.bits, "losses, weights or ELBO differ");
    const resumed = await session(true, {
      checkpoint: replayed.checkpoint!,
      noise: replayed.noiseAtCheckpoint!,
    });
    // The resumed session ran steps 7..12: its losses are the tail of the full run's.
    const tail = replayed.bits.slice(replayed.bits.length - resumed.bits.length);
    assert.deepEqual(resumed.bits, tail, "the resumed run differs");
  });
});
