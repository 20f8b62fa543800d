/** Model construction and checks that the nade and made tests share. */
import assert from "node:assert/strict";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import {
  type GenerativeModel,
  type ModelOptions,
  type ModelSpec,
  parameterCount,
} from "../../../models/model.ts";
import * as tf from "@tensorflow/tfjs-core";
import { checkSamplesFollowLogits, prototypeBatch, trainFor } from "./_helpers.ts";
import { defaultOptions } from "../../../models/options.ts";

/** A model of a registered spec on h×w grey images, options over its defaults, fixed init. */
export function buildModel<T extends GenerativeModel>(
  spec: ModelSpec,
  height: number,
  width: number,
  options: ModelOptions = {},
): T {
  return spec.create({
    shape: { height, width, channels: 1 },
    options: { ...defaultOptions(spec.options), ...options },
    init: Stream.derive(7, "init"),
  }) as T;
}

/** Asserts that 30 Adam steps on 64 prototype images lower the model's training NLL by > 1. */
export function assertTrainingLowersNll(model: GenerativeModel, dims: number): void {
  const x = prototypeBatch(64, dims, 1);
  const { before, after } = trainFor(model, x, 30);
  assert.ok(after < before - 1, `NLL ${before} → ${after}`);
  x.dispose();
}

/** Asserts that building a binary-only model for 8-bit data fails with one line naming it. */
export function assertRefusesEightBits(name: string, build: () => unknown): void {
  assert.throws(build, (e: Error) => {
    return e instanceof UsageError && new RegExp(`${name}.*bits.*8`).test(e.message) &&
      !e.message.includes("\n");
  });
}

/**
 * Registers the checks every binary-only model shares: its canonical parameter count at 28×28,
 * training with the `training` options lowers the NLL on 4×4 images, and asking for 8-bit data
 * fails in one line.
 */
export function registerBinaryOnlyChecks(
  name: string,
  build: (height: number, width: number, options?: ModelOptions) => GenerativeModel,
  expected: { parameters: number; training: ModelOptions },
): void {
  const count = expected.parameters.toLocaleString("en-US");
  Deno.test(`${name}: canonical parameter count at 28×28 is ${count}`, () => {
    const model = build(28, 28);
    assert.equal(parameterCount(model), expected.parameters);
    model.dispose();
  });

  Deno.test(`${name}: a few training steps lower the NLL`, () => {
    const model = build(4, 4, expected.training);
    assertTrainingLowersNll(model, 16);
    model.dispose();
  });

  Deno.test(`${name}: asking for 8-bit data fails with one clear line`, () => {
    assertRefusesEightBits(name, () => build(4, 4, { bits: 8 }));
  });
}

/** A binary model with an incremental sampler on the host and one on tensors. */
interface TwoSamplers {
  hostSample(n: number, noise: Stream): Float32Array;
  tensorSample(n: number, noise: Stream): Promise<Float32Array>;
  logits(x: tf.Tensor2D): tf.Tensor;
}

/** Both samplers of a 4×4 binary model draw from its conditionals: > 1,000 pixels, no miss. */
export async function assertBothSamplersFollowLogits(model: TwoSamplers, label: string) {
  const host = { sample: (n: number, s: Stream) => Promise.resolve(model.hostSample(n, s)) };
  const tensor = { sample: (n: number, s: Stream) => model.tensorSample(n, s) };
  for (const sampler of [host, tensor]) {
    const { checked, mismatches } = await checkSamplesFollowLogits(
      sampler as unknown as GenerativeModel,
      (x) => model.logits(x),
      16,
      64,
      2,
    );
    assert.ok(checked > 1000, label);
    assert.equal(mismatches, 0, label);
  }
}
