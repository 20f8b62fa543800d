/**
 * The training loop: from `state.step` to the plan's budget (a step count, or a training wall
 * time under `--budget seconds=S`), taking batches in the order of the data stream's epoch
 * permutations. Losses are read (a GPU sync) only on logged and checkpoint steps; a NaN or
 * infinite loss there ends the run as diverged. A stop request ends it at a step boundary.
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import type { Progress } from "../core/progress.ts";
import { inputBatch } from "../datasets/batch.ts";
import type { Dataset } from "../datasets/dataset.ts";
import { dimOf } from "../datasets/dataset.ts";
import { type GenerativeModel, inputKindOf } from "../models/model.ts";
import type { RunPlan } from "./plan.ts";
import { protocolHooks } from "./protocol.ts";
import { RUN_FILES, saveRunFile } from "./record.ts";
import type { StopRequest } from "./signals.ts";
import { type TrainStepper, trainStepper } from "../core/webgpu/stepper.ts";
import { batchSizeOf, type TrainState } from "./train_state.ts";

/** Default of `--checkpoint-every` (steps). Checkpoints never change results, only cost time. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** Logged steps under a seconds budget, whose step count is not known in advance. */
const LOG_EVERY_UNDER_TIME_BUDGET = 10;

/** How a training session ended. */
export type TrainOutcome = "finished" | "diverged" | "interrupted";

/** What the loop needs besides the model and its state. */
export interface TrainContext {
  plan: RunPlan;
  dataset: Dataset;
  runDir: string;
  progress: Progress;
  /** Steps between checkpoints (0: only at the end and on a stop request). */
  checkpointEvery: number;
  stop?: StopRequest;
  /** Writes a checkpoint (and updates run.json). */
  checkpoint: () => Promise<void>;
  /** The run's label in messages, e.g. `[vae-mlp seed 1]`. */
  label: string;
  /**
   * On webgpu, record a training step and replay it (core/webgpu/stepper.ts); default true.
   * The losses, weights and checkpoints are the same bit for bit either way.
   */
  replay?: boolean;
}

/** Names and values of the losses whose value is NaN or infinite. */
function nonFinite(values: Record<string, number>): string | null {
  const bad = Object.entries(values).filter(([, v]) => !Number.isFinite(v));
  return bad.length ? bad.map(([name, v]) => `${name} = ${v}`).join(", ") : null;
}

/** Train `model` from `state` to the plan's budget. */
export async function trainModel(
  model: GenerativeModel,
  state: TrainState,
  context: TrainContext,
): Promise<TrainOutcome> {
  const stepper = trainStepper(model, {
    replay: context.replay ?? true,
    onNote: (line) => console.error(`genbench: ${context.label} ${line}`),
  });
  try {
    return await trainSteps(model, state, context, stepper);
  } finally {
    stepper.dispose();
  }
}

async function trainSteps(
  model: GenerativeModel,
  state: TrainState,
  context: TrainContext,
  stepper: TrainStepper,
): Promise<TrainOutcome> {
  const { plan, dataset, stop } = context;
  const seconds = plan.budget && "seconds" in plan.budget ? plan.budget.seconds : Infinity;
  const steps = plan.steps ?? Infinity;
  const kind = inputKindOf(plan.spec, plan.options);
  const batchSize = batchSizeOf(plan, dataset);
  const dim = dimOf(dataset.shape);
  // Labels reach the model when it is conditional or trains on a split of its own making.
  const conditional = plan.spec.capabilities.includes("conditional") ||
    plan.spec.trainingSplit !== undefined;
  const logEvery = plan.steps === null
    ? LOG_EVERY_UNDER_TIME_BUDGET
    : Math.max(1, Math.floor(plan.steps / 100));
  const every = context.checkpointEvery;
  const { streams } = state;
  // A paper's protocol, where the suite entry gives one: static bits, schedule, early stopping.
  const protocol = protocolHooks(
    plan.entry.training,
    model,
    dataset,
    kind,
    state,
    context.runDir,
  );
  // Training time of this session, added to the time of the earlier ones.
  const base = state.seconds;
  let sessionStart = performance.now();
  const clock = () => base + (performance.now() - sessionStart) / 1000;
  let lastYield = performance.now();
  let timeUp = base >= seconds;
  while (state.step < steps && !timeUp) {
    // Signals are delivered by the event loop, which a synchronous loop of steps never lets
    // run: give it a turn about every 0.1 s, so that a signal is seen at the next step.
    if (stop && performance.now() - lastYield > 100) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
    if (state.cursor + batchSize > state.order.length) {
      state.order = streams.data.permutation(dataset.train.count);
      state.cursor = 0;
      state.epoch++;
    }
    const rows = state.order.subarray(state.cursor, state.cursor + batchSize);
    state.cursor += batchSize;
    protocol.beforeStep();
    const x = inputBatch(dataset.train.images, protocol.binary, dim, rows, kind, streams.binarize);
    const labels = conditional
      ? tf.tensor1d(Int32Array.from(rows, (r) => dataset.train.labels[r]), "int32")
      : undefined;
    const losses = stepper.step(x, streams.train, labels);
    x.dispose();
    labels?.dispose();
    const step = ++state.step;
    const stopping = stop?.requested ?? false;
    let converged = false;
    if (state.cursor + batchSize > state.order.length) {
      // The epoch's last step: validation is not training time, like checkpoint writing.
      const validateStart = performance.now();
      converged = await protocol.afterEpoch();
      sessionStart += performance.now() - validateStart;
    }
    timeUp = clock() >= seconds;
    const last = step === steps || timeUp || converged;
    const logged = step % logEvery === 0 || last;
    const checkpointed = last || stopping || (every > 0 && step % every === 0);
    if (!logged && !checkpointed) {
      losses.dispose();
      continue;
    }
    const values = await losses.values();
    losses.dispose();
    state.seconds = clock();
    if (logged) {
      state.curves.push(
        JSON.stringify({
          step,
          epoch: state.epoch,
          images: step * batchSize,
          seconds: state.seconds,
          ...values,
        }) + "\n",
      );
      context.progress.update(step, values, (step * batchSize) / state.seconds);
    }
    const bad = nonFinite(values);
    if (bad) {
      // Always said, even with --quiet: the run's record will lack its test metrics.
      console.error(
        `genbench: ${context.label} diverged at step ${step} (${bad}); run marked "diverged", ` +
          "the suite goes on",
      );
      await saveRunFile(join(context.runDir, RUN_FILES.curves), state.curves.join(""));
      return "diverged";
    }
    if (checkpointed) {
      const writeStart = performance.now();
      await context.checkpoint();
      sessionStart += performance.now() - writeStart; // checkpoint writing is not training time
    }
    if (stopping || stop?.requested) {
      if (!checkpointed) await context.checkpoint();
      return "interrupted";
    }
    if (converged) break;
  }
  protocol.restoreBest();
  return "finished";
}
