/** Model construction and checks that the nade and made tests share. */
import assert from "node:assert/strict";
import { UsageError } from "../../../core/errors.ts";
import { Stream } from "../../../core/rng.ts";
import type { GenerativeModel, ModelOptions, ModelSpec } from "../../../models/model.ts";
import { prototypeBatch, trainFor } from "./_helpers.ts";
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
