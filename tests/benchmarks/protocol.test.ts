import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { Stream } from "../../core/rng.ts";
import { Progress } from "../../core/progress.ts";
import { syntheticDataset } from "../../datasets/synthetic.ts";
import type { GenerativeModel } from "../../models/model.ts";
import { getModel } from "../../models/registry.ts";
import { planRun } from "../../benchmarks/plan.ts";
import {
  learningRateFactor,
  newSelection,
  parseTrainingProtocol,
  protocolHooks,
  type Schedule,
  selectEpoch,
  staticTrainingBinarization,
  type TrainingProtocol,
  VALIDATION_FILE,
  validationNll,
} from "../../benchmarks/protocol.ts";
import { parseSuite, type Suite } from "../../benchmarks/suites.ts";
import { trainModel } from "../../benchmarks/train.ts";
import {
  createModel,
  initialState,
  restoreState,
  type TrainState,
  writeCheckpoint,
} from "../../benchmarks/train_state.ts";
import { StopRequest } from "../../benchmarks/signals.ts";
import { readCheckpoint, restoreModel } from "../../core/checkpoint.ts";
import type { RunPlan } from "../../benchmarks/suites.ts";

const BURDA: Schedule = {
  kind: "stages",
  epochs: Array.from({ length: 8 }, (_, i) => 3 ** i),
  factors: Array.from({ length: 8 }, (_, i) => 10 ** (-i / 7)),
};

Deno.test("a stages schedule gives Burda et al.'s 3^i epochs at 10^(−i/7), in closed form", () => {
  // Stage i covers epochs [(3^i − 1)/2, (3^(i+1) − 1)/2) (0-based), 3,280 epochs in all.
  for (let epoch = 0; epoch < 3400; epoch++) {
    const stage = Math.min(Math.floor(Math.log(2 * epoch + 1) / Math.log(3) + 1e-12), 7);
    assert.equal(learningRateFactor(BURDA, epoch), 10 ** (-stage / 7), `epoch ${epoch}`);
  }
  assert.equal(learningRateFactor(BURDA, 0), 1);
  assert.equal(learningRateFactor(BURDA, 3), 10 ** (-1 / 7));
  assert.equal(learningRateFactor(BURDA, 4), 10 ** (-2 / 7));
  assert.equal(learningRateFactor(BURDA, 3279), 0.1);
  assert.equal(learningRateFactor({ kind: "exponential", gamma: 0.5 }, 3), 0.125);
  assert.equal(learningRateFactor(null, 7), 1);
});

function tinyMade(learningRate: number): GenerativeModel {
  return getModel("made").create({
    shape: { height: 3, width: 3, channels: 1 },
    options: { hidden: 8, layers: 1, learningRate },
    init: Stream.derive(5, "init"),
  });
}

Deno.test("the schedule's factor is the rate Adam steps with: one step at 1e-2 × f equals a model built at that rate", async () => {
  const protocol: TrainingProtocol = {
    binarization: "dynamic",
    schedule: BURDA,
    earlyStopping: null,
  };
  const dataset = syntheticDataset({ size: 3, trainCount: 20, testCount: 10 });
  const scheduled = tinyMade(1e-2);
  const state = { epoch: 4, step: 0 };
  protocolHooks(protocol, scheduled, dataset, "binary", state, "/nonexistent").beforeStep();
  const direct = tinyMade(1e-2 * 10 ** (-2 / 7));
  const x = tf.tensor2d([[1, 0, 1, 0, 1, 1, 0, 0, 1], [0, 1, 1, 0, 0, 1, 1, 0, 0]]);
  for (const model of [scheduled, direct]) {
    tf.dispose(Object.values(model.trainStep(x, Stream.derive(1, "t"))));
  }
  for (const [name, weight] of scheduled.weights()) {
    assert.deepEqual(await weight.data(), await direct.weights().get(name)!.data(), name);
  }
  // Without the schedule the step differs (the test would pass vacuously otherwise).
  const plain = tinyMade(1e-2);
  tf.dispose(Object.values(plain.trainStep(x, Stream.derive(1, "t"))));
  const kernel = [...plain.weights().keys()][0];
  assert.notDeepEqual(
    await plain.weights().get(kernel)!.data(),
    await direct.weights().get(kernel)!.data(),
  );
  tf.dispose(x);
  [scheduled, direct, plain].forEach((m) => m.dispose());
});

Deno.test("early stopping picks the best validation epoch of a hand-made curve and stops after `patience` epochs without a strict improvement", () => {
  const curve = [5, 4, 3, 3.5, 3.2, 2.9, 3.0, 2.9, 3.1];
  const selection = newSelection();
  const stops = curve.map((valid_nll, i) =>
    selectEpoch(selection, { epoch: i + 1, step: 10 * (i + 1), valid_nll }, 3).stop
  );
  // Epoch 6 (2.9) is the best; epoch 8 ties it, which is no improvement; the third epoch
  // without one (epoch 9) stops training.
  assert.deepEqual(stops, [false, false, false, false, false, false, false, false, true]);
  assert.equal(selection.history[selection.best].epoch, 6);
  assert.equal(selection.since, 3);
});

/** A model that remembers every batch it trains on, by row of the permutation. */
function spyModel(seen: Float32Array[]): GenerativeModel {
  return {
    trainStep(x: tf.Tensor2D) {
      seen.push(x.dataSync() as Float32Array);
      return { nll: tf.scalar(1) };
    },
    weights: () => new Map(),
    optimizers: () => [],
    dispose() {},
  };
}

function suiteWith(training?: unknown): Suite {
  return parseSuite(
    {
      name: "t",
      description: "protocol test",
      evalCount: null,
      iwaeK: 0,
      sampleCount: 1,
      entries: [{
        model: "made",
        steps: 20,
        options: { batchSize: 10, hidden: 16, layers: 1 },
        training,
      }],
    },
    "test.json",
  );
}

async function trainSpy(training: unknown): Promise<Map<number, Float32Array[]>> {
  const dataset = syntheticDataset({ size: 4, trainCount: 40, testCount: 10 });
  const suite = suiteWith(training);
  const plan = planRun(suite, suite.entries[0], getModel("made"), 1, {}, 40);
  const state = initialState("spy", 1, dataset);
  const batches: Float32Array[] = [];
  const rows: number[][] = [];
  const model = spyModel(batches);
  const original = model.trainStep.bind(model);
  model.trainStep = (x, noise) => {
    rows.push([...state.order.subarray(state.cursor - 10, state.cursor)]);
    return original(x, noise);
  };
  await trainModel(model, state, {
    plan,
    dataset,
    runDir: await Deno.makeTempDir(),
    progress: new Progress("spy", 20, true),
    checkpointEvery: 0,
    checkpoint: async () => {},
    label: "spy",
  });
  // Each training row's bits, once per epoch it was drawn in (several epochs in 20 steps).
  const byRow = new Map<number, Float32Array[]>();
  batches.forEach((batch, step) =>
    rows[step].forEach((row, i) => {
      const bits = batch.slice(i * 16, (i + 1) * 16);
      byRow.set(row, [...(byRow.get(row) ?? []), bits]);
    })
  );
  return byRow;
}

Deno.test("static binarization trains on the same bits every epoch; dynamic draws new ones", async () => {
  const fixed = await trainSpy({ binarization: "static" });
  const fresh = await trainSpy(undefined);
  const dataset = syntheticDataset({ size: 4, trainCount: 40, testCount: 10 });
  const bits = staticTrainingBinarization(dataset);
  for (const [row, draws] of fixed) {
    assert.ok(draws.length >= 2);
    for (const draw of draws) {
      assert.deepEqual([...draw], [...bits.subarray(row * 16, (row + 1) * 16)]);
    }
  }
  // Dynamic: some row is drawn differently in some epoch (grey pixels exist in the data).
  const differs = [...fresh.values()].some((draws) =>
    draws.some((d) => d.join() !== draws[0].join())
  );
  assert.ok(differs);
});

Deno.test("an early-stopped run evaluates the best validation epoch's weights and writes its validation curve", async () => {
  const dataset = syntheticDataset({ size: 6, trainCount: 60, testCount: 10 });
  const suite = suiteWith({ binarization: "static", earlyStopping: { patience: 2 } });
  // A rate high enough that validation NLL goes up again within the 200 steps (33 epochs).
  suite.entries[0].steps = 200;
  suite.entries[0].options = { batchSize: 12, hidden: 64, layers: 1, learningRate: 0.05 };
  const plan = planRun(suite, suite.entries[0], getModel("made"), 1, {}, 60);
  const model = createModel(plan, dataset);
  const state = initialState("early", 1, dataset);
  const runDir = await Deno.makeTempDir();
  const outcome = await trainModel(model, state, {
    plan,
    dataset,
    runDir,
    progress: new Progress("early", 200, true),
    checkpointEvery: 0,
    checkpoint: async () => {},
    label: "early",
  });
  assert.equal(outcome, "finished");
  const lines = (await Deno.readTextFile(join(runDir, VALIDATION_FILE))).trim().split("\n");
  const curve = lines.map((line) => JSON.parse(line).valid_nll as number);
  const best = Math.min(...curve);
  // It stopped early, two epochs after the best one, with the best weights in the model.
  assert.ok(state.step < 200, `ran ${state.step} steps`);
  assert.equal(curve.lastIndexOf(best), curve.length - 3);
  assert.ok(Math.abs((await validationNll(model, dataset, "binary")) - best) < 1e-9);
  model.dispose();
});

Deno.test("a training protocol is checked field by field, one line naming the key", () => {
  assert.throws(
    () => parseTrainingProtocol({ binarization: "fixed" }, "s.json: entries[0].training"),
    /^UsageError: s.json: entries\[0\].training.binarization: expected "dynamic" or "static"/,
  );
  assert.throws(
    () => parseTrainingProtocol({ schedule: { kind: "stages", epochs: [1], factors: [] } }, "t"),
    /t.schedule: expected/,
  );
  assert.throws(() => parseTrainingProtocol({ earlyStopping: { patience: 0 } }, "t"), /patience/);
  assert.throws(() => suiteWith({ earlyStopping: { patience: 2 }, extra: 1 }), /test.json/);
  assert.deepEqual(parseTrainingProtocol({}, "t"), {
    binarization: "dynamic",
    schedule: null,
    earlyStopping: null,
  });
});

Deno.test("a protocol run interrupted mid-epoch resumes from its checkpoint to the same selection and weights", async () => {
  const dataset = syntheticDataset({ size: 6, trainCount: 60, testCount: 10 });
  const suite = suiteWith({
    binarization: "static",
    schedule: { kind: "exponential", gamma: 0.95 },
    earlyStopping: { patience: 2 },
  });
  suite.entries[0].steps = 200;
  suite.entries[0].options = { batchSize: 12, hidden: 64, layers: 1, learningRate: 0.05 };
  const plan: RunPlan = planRun(suite, suite.entries[0], getModel("made"), 1, {}, 60);
  const train = async (state: TrainState, model: GenerativeModel, runDir: string, stopAt = 0) => {
    const stop = new StopRequest();
    const step = model.trainStep.bind(model);
    model.trainStep = (x, noise) => {
      if (state.step + 1 === stopAt) stop.signal = "SIGINT";
      return step(x, noise);
    };
    return await trainModel(model, state, {
      plan,
      dataset,
      runDir,
      progress: new Progress("resume", 200, true),
      checkpointEvery: 0,
      stop,
      checkpoint: () => writeCheckpoint(runDir, model, state),
      label: "resume",
    });
  };
  const whole = createModel(plan, dataset);
  const wholeState = initialState("resume", 1, dataset);
  assert.equal(await train(wholeState, whole, await Deno.makeTempDir()), "finished");

  // Interrupted after its best epoch, so that only the checkpoint holds the best weights.
  const { history, best } = wholeState.selection!;
  const stopAt = wholeState.step - 1;
  assert.ok(wholeState.step < 200 && history[best].step < stopAt, "stopped early, best before");
  const dir = await Deno.makeTempDir();
  const first = createModel(plan, dataset);
  assert.equal(await train(initialState("resume", 1, dataset), first, dir, stopAt), "interrupted");
  first.dispose();
  const checkpoint = await readCheckpoint(join(dir, "checkpoint.bin"));
  const second = createModel(plan, dataset);
  await restoreModel(checkpoint, second, "checkpoint.bin");
  const state = restoreState(checkpoint);
  assert.ok(state.selection!.history.length >= 4, "interrupted after a few validations");
  assert.equal(await train(state, second, dir), "finished");
  assert.deepEqual(state.selection, wholeState.selection);
  assert.equal(state.step, wholeState.step);
  for (const [name, weight] of whole.weights()) {
    assert.deepEqual(await second.weights().get(name)!.data(), await weight.data(), name);
  }
  whole.dispose();
  second.dispose();
});
