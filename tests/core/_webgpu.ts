/**
 * Shared by the WebGPU kernel tests: whether this machine has a WebGPU adapter (CI has the
 * software one, Mesa llvmpipe), with tfjs-webgpu loaded when it does. Tests skip without one.
 * Also the step-replay tests' training loop (core/webgpu/stepper.ts).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { CaseResult } from "../../core/webgpu/check.ts";
import { installWebGpuKernels, uninstallWebGpuKernels } from "../../core/webgpu/install.ts";
import { type Trainable, trainStepper } from "../../core/webgpu/stepper.ts";
import { Stream } from "../../core/rng.ts";

tf.env().set("PROD", true);

async function hasAdapter(): Promise<boolean> {
  try {
    return !!(navigator.gpu && await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

export const gpu = await hasAdapter();
if (gpu) await import("@tensorflow/tfjs-backend-webgpu");

/**
 * A test on the webgpu backend, ignored without an adapter. tfjs keeps its GPU buffers and
 * pipelines across tests, so the resource and op sanitizers are off.
 */
export function webgpuTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await tf.setBackend("webgpu");
      await fn();
    },
  });
}

/** `fn` with our kernels installed (small tiles: llvmpipe compiles large ones for minutes). */
export async function withKernels<T>(fn: () => Promise<T>): Promise<T> {
  installWebGpuKernels("small");
  try {
    return await fn();
  } finally {
    uninstallWebGpuKernels();
  }
}

/** Each kernel case within `tolerance` relative error of cpu and bit-identical on a repeat. */
export function assertMatchesCpu(results: CaseResult[], tolerance: number): void {
  for (const r of results) {
    assert.ok(r.relError <= tolerance, `${r.name}: relative error ${r.relError}`);
    assert.ok(r.deterministic, `${r.name}: two runs differ`);
  }
}

/** A model the step-replay tests train: a stepper's model with weights to compare. */
export type ReplayModel = Trainable & { weights(): Map<string, tf.Variable>; dispose(): void };

/** The batch of step `i` (host tensors, disposed after the step) and its labels, if any. */
export type StepInputs = (i: number) => { x: tf.Tensor2D; labels?: tf.Tensor1D };

/** What {@link trainReplayed} gives: every step's losses and the final weights as float32 bits. */
export interface ReplayRun {
  bits: Uint32Array;
  replayed: boolean;
  note: string | null;
}

/** `steps` training steps of `model` through a stepper (replayed or not); disposes the model. */
export async function trainReplayed(
  model: ReplayModel,
  replay: boolean,
  inputs: StepInputs,
  steps = 20,
): Promise<ReplayRun> {
  const noise = Stream.derive(1, "noise");
  const stepper = trainStepper(model, { replay });
  const out: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const { x, labels } = inputs(i);
      const result = stepper.step(x, noise, labels);
      tf.dispose([x, ...(labels ? [labels] : [])]);
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

/**
 * 20 steps replayed = 20 steps through tfjs, bit for bit. With `mustReplay`, the stepper must
 * also have replayed; without, a refusal is allowed (its line is returned) but the bits must
 * still agree.
 */
export async function assertReplayMatches(
  makeModel: () => ReplayModel,
  inputs: StepInputs,
  mustReplay: boolean,
): Promise<string | null> {
  const plain = await trainReplayed(makeModel(), false, inputs);
  const replayed = await trainReplayed(makeModel(), true, inputs);
  if (mustReplay) assert.equal(replayed.note, null);
  if (replayed.note === null) assert.ok(replayed.replayed, "the last step was not replayed");
  assert.equal(replayed.bits.length, plain.bits.length);
  const first = replayed.bits.findIndex((b, i) => b !== plain.bits[i]);
  assert.equal(first, -1, `value ${first} of ${plain.bits.length} differs`);
  return replayed.note;
}
