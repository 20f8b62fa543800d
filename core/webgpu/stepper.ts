/**
 * Training steps on webgpu replayed rather than re-issued through tfjs (replay.ts): step 1
 * runs as usual (moments created, pipelines compiled), steps 2 and 3 are recorded, and from
 * step 4 each step writes its batch, labels and noise into the recorded buffers and replays the
 * recorded work in one submit. The host work of a step is then the model's noise draws, a few
 * writes and one pass of encoding, instead of tfjs's per-op bookkeeping.
 *
 * The step's noise: models draw it on the host from the `Stream` they are given (floats, and
 * integers such as timesteps, codes or target domains). While a step is recorded the stream's
 * draws are logged (draws.ts); each replayed step makes the same draws on the real stream (so
 * it advances exactly as before) and the uploads the recording matched to them take the new
 * values. Each upload of the two recorded steps is classed by content (compare.ts): the whole
 * batch, the whole labels, a run of whole draws, or a constant (the same bytes in both).
 * Anything else, a read-back inside the step, a difference in the work between the two steps,
 * or a call the recording does not model: no replay, and one line saying why (`note`).
 *
 * tfjs-webgpu runs an op on the CPU when all its inputs are small tensors still on the host
 * (`WEBGPU_CPU_FORWARD`), so at small batches a model's draws or labels would reach the GPU
 * already transformed (drawn shifts added to domain codes, labels compared with a domain): a
 * host function the replay cannot redo. The steps before a replay run with that forwarding
 * off, so every op runs on the GPU and the draws and labels are uploaded as they are. The ops
 * forwarded so are exact ones (integer arithmetic, comparisons, gathers, one float32 product)
 * whose bits do not depend on where they run; the replay tests check it model by model.
 *
 * tfjs is touched in a few places only, all here: where a variable's buffer is (to copy a
 * step's new weights and moments back to where the next step reads them, and to drop host
 * copies that a replay makes stale), its buffer pool (recorded buffers must never be handed
 * out again: {@link guardPool}), its unsubmitted work (flushTfjs), its CPU forwarding flag
 * and Adam's step counter.
 * Variables always point at buffers holding their current values after a replay, so
 * evaluation and checkpoints read them as usual.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { Stream } from "../rng.ts";
import { flushTfjs } from "./dispatch.ts";
import { recordTrace } from "./record.ts";
import { NotReplayable, StepReplay } from "./replay.ts";
import { bytesOf, classify, DRAWN, type Recording, sameWork } from "./compare.ts";
import { DrawWords, logDraws, redraw } from "./draws.ts";
import { guardPool, type PoolGuard } from "./pool_guard.ts";

/** What a stepper needs of a model. */
export interface Trainable {
  trainStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): Record<string, tf.Scalar>;
  optimizers(): tf.Optimizer[];
}

/** One step's losses: read them (before the next step), then dispose. */
export interface StepResult {
  values(): Promise<Record<string, number>>;
  dispose(): void;
}

export interface TrainStepper {
  step(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): StepResult;
  /** Whether the last step was replayed. */
  readonly replayed: boolean;
  /** Why replay is off for this model, once known. */
  readonly note: string | null;
  /** The replay's per-step work, once built. */
  readonly counts: StepReplay["counts"] | null;
  dispose(): void;
}

/** Steps run through tfjs before the two recorded ones. */
const WARMUP_STEPS = 1;

/** `fn` with tfjs-webgpu's running of ops on small host tensors on the CPU turned off. */
function withoutForwarding<T>(fn: () => T): T {
  const env = tf.env(), forward = env.getBool("WEBGPU_CPU_FORWARD");
  env.set("WEBGPU_CPU_FORWARD", false);
  try {
    return fn();
  } finally {
    env.set("WEBGPU_CPU_FORWARD", forward);
  }
}

/** The result of a step run through tfjs. */
function lossesResult(losses: Record<string, tf.Scalar>): StepResult {
  return {
    values: async () => {
      const out: Record<string, number> = {};
      for (const [name, t] of Object.entries(losses)) out[name] = (await t.data())[0];
      return out;
    },
    dispose: () => tf.dispose(Object.values(losses)),
  };
}

/** A stepper for `model`: replayed on webgpu when `replay`, else each step through tfjs. */
export function trainStepper(
  model: Trainable,
  options: { replay: boolean; onNote?: (line: string) => void },
): TrainStepper {
  return new ReplayStepper(model, options.replay, options.onNote);
}

class ReplayStepper implements TrainStepper {
  replayed = false;
  note: string | null = null;
  #steps = 0;
  #recordings: Recording[] = [];
  #replay: StepReplay | null = null;
  #plan: Recording | null = null;
  #guard: PoolGuard | null = null;
  #drawn = new DrawWords(0);
  #hyper = "";
  #issued = 0;

  constructor(
    readonly model: Trainable,
    readonly enabled: boolean,
    readonly onNote?: (line: string) => void,
  ) {}

  get counts() {
    return this.#replay?.counts ?? null;
  }

  #backend(): WebGPUBackend {
    return tf.backend() as WebGPUBackend;
  }

  #bufferOf(t: tf.Tensor): GPUBuffer | null {
    const resource = this.#backend().tensorMap.get(t.dataId)?.resource;
    return resource instanceof GPUBuffer ? resource : null;
  }

  /** The bytes of `t` while they are still on the host (a fresh tensor), else null. */
  #hostBytes(t: tf.Tensor): Uint8Array | null {
    const values = this.#backend().tensorMap.get(t.dataId)?.values;
    return ArrayBuffer.isView(values) ? bytesOf(values) : null;
  }

  /** The optimizers' settings a replay bakes in; a change means recording again. */
  #hyperparameters(): string {
    return JSON.stringify(
      this.model.optimizers().map((o) => {
        const a = o as unknown as Record<string, unknown>;
        return [a.learningRate, a.beta1, a.beta2, a.epsilon, a.momentum, a.rho];
      }),
    );
  }

  step(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): StepResult {
    this.replayed = false;
    if (!this.enabled || this.note !== null || tf.getBackend() !== "webgpu") {
      return this.#plain(batch, noise, labels);
    }
    if (this.#replay && this.#hyperparameters() !== this.#hyper) this.#drop();
    if (this.#hostBytes(batch) === null || (labels && this.#hostBytes(labels) === null)) {
      this.#off("the batch or its labels are already on the GPU (replay takes them from the host)");
      return this.#plain(batch, noise, labels);
    }
    if (this.#replay) return this.#replayStep(batch, noise, labels);
    if (++this.#steps <= WARMUP_STEPS) {
      return withoutForwarding(() => this.#plain(batch, noise, labels));
    }
    return this.#record(batch, noise, labels);
  }

  #plain(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): StepResult {
    return lossesResult(this.model.trainStep(batch, noise, labels));
  }

  #record(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): StepResult {
    const backend = this.#backend();
    flushTfjs(backend);
    const variables = Object.values(tf.engine().registeredVariables);
    const start = variables.map((v) => this.#bufferOf(v));
    const optimizers = this.model.optimizers() as unknown as { iterations_: number }[];
    const iterations = optimizers.map((o) => o.iterations_);
    const inputs = [
      this.#hostBytes(batch)!.slice(),
      labels ? this.#hostBytes(labels)!.slice() : null,
    ];
    // The variables' buffers must not be handed out again within the step.
    this.#guard ??= guardPool(backend);
    const held = new Set(start.filter((b): b is GPUBuffer => b !== null));
    this.#guard.reserve(held);
    let recorded;
    try {
      recorded = logDraws(noise, () =>
        recordTrace(() =>
          withoutForwarding(() => {
            const losses = this.model.trainStep(batch, noise, labels);
            flushTfjs(backend);
            return losses;
          })
        ));
    } finally {
      this.#guard.release(held);
    }
    const { result: { result: losses, trace }, draws, words, starts: drawStarts } = recorded;
    const lossBuffers = Object.entries(losses).map(([name, t]) =>
      [name, this.#bufferOf(t)] as [string, GPUBuffer | null]
    );
    this.#recordings.push({
      trace,
      inputs: [...inputs, words.bytes],
      draws,
      drawStarts,
      losses: lossBuffers.filter((l): l is [string, GPUBuffer] => l[1] !== null),
      variables,
      start,
      end: variables.map((v) => this.#bufferOf(v)),
      iterations: optimizers.map((o, i) => o.iterations_ - iterations[i]),
    });
    const result = lossesResult(losses);
    if (this.#recordings.length === 2) {
      try {
        if (lossBuffers.some((l) => l[1] === null)) {
          throw new NotReplayable("a loss is computed on the host");
        }
        this.#build();
      } catch (error) {
        if (!(error instanceof NotReplayable)) throw error;
        this.#off(error.message);
      }
      this.#recordings = [];
    }
    return result;
  }

  #off(why: string): void {
    this.#drop();
    this.note = why;
    this.onNote?.(`step replay off: ${why}; each step runs through tfjs`);
  }

  /** Compare the two recordings and build the replay from the second. */
  #build(): void {
    const [a, b] = this.#recordings;
    for (const r of [a, b]) {
      if (r.trace.readBacks > 0) throw new NotReplayable("the step reads values back to the host");
      if (r.trace.unsupported.length) throw new NotReplayable(r.trace.unsupported[0]);
    }
    if (a.variables.length !== b.variables.length || !sameWork(a.trace, b.trace)) {
      throw new NotReplayable("the step's work differs from one step to the next");
    }
    if (JSON.stringify(a.draws) !== JSON.stringify(b.draws)) {
      throw new NotReplayable("the step draws different noise from one step to the next");
    }
    const sources = classify(a, b);
    const copyBack: [GPUBuffer, GPUBuffer][] = [];
    const ends = new Set<GPUBuffer>();
    b.variables.forEach((_, i) => {
      const from = b.end[i], to = b.start[i];
      if (!from || !to || from === to) return;
      if (ends.has(from)) throw new NotReplayable("two variables end the step on one buffer");
      ends.add(from);
      copyBack.push([from, to]);
    });
    const starts = new Set(copyBack.map(([, to]) => to));
    if (copyBack.some(([from]) => starts.has(from))) {
      throw new NotReplayable("a variable ends the step on another variable's buffer");
    }
    const replay = new StepReplay(this.#backend().device, {
      trace: b.trace,
      sources,
      copyBack,
      readBack: b.losses.map(([, buffer]) => buffer),
    });
    const keep = new Set(replay.buffers);
    for (const buf of [...b.start, ...b.end]) if (buf) keep.add(buf);
    this.#guard!.reserve(keep);
    this.#replay = replay;
    this.#plan = b;
    this.#drawn = new DrawWords(b.inputs[DRAWN]!.length / 4);
    this.#hyper = this.#hyperparameters();
  }

  /** Forget the replay (the next steps record again). */
  #drop(): void {
    this.#replay?.dispose();
    this.#guard?.releaseAll();
    this.#replay = null;
    this.#plan = null;
    this.#steps = 0;
  }

  #replayStep(batch: tf.Tensor2D, noise: Stream, labels?: tf.Tensor1D): StepResult {
    const plan = this.#plan!, replay = this.#replay!;
    const x = this.#hostBytes(batch)!;
    const y = labels ? this.#hostBytes(labels) : null;
    if (
      x.length !== plan.inputs[0]!.length || (y?.length ?? -1) !== (plan.inputs[1]?.length ?? -1)
    ) {
      this.#drop();
      return this.step(batch, noise, labels);
    }
    const backend = this.#backend();
    // Something between steps (a protocol restoring weights, say) moved a variable: record again.
    const variables = Object.values(tf.engine().registeredVariables);
    if (
      variables.length !== plan.variables.length ||
      plan.variables.some((v, i) => variables[i] !== v || this.#bufferOf(v) !== plan.end[i])
    ) {
      this.#drop();
      return this.step(batch, noise, labels);
    }
    flushTfjs(backend);
    redraw(noise, plan.draws, this.#drawn);
    replay.run([x, y ?? new Uint8Array(0), this.#drawn.bytes]);
    // Host copies of the variables' old values are stale now; a variable that lives only on
    // the host (never uploaded, so not written by the replay) keeps its values.
    for (const v of plan.variables) {
      const data = backend.tensorMap.get(v.dataId);
      if (data && data.values != null && data.resource instanceof GPUBuffer) {
        (data as { values: unknown }).values = null;
      }
    }
    const optimizers = this.model.optimizers() as unknown as { iterations_: number }[];
    optimizers.forEach((o, i) => o.iterations_ += plan.iterations[i] ?? 0);
    this.replayed = true;
    const issued = ++this.#issued;
    const names = plan.losses.map(([name]) => name);
    return {
      values: async () => {
        if (issued !== this.#issued) throw new Error("step losses read after the next step");
        const values = await replay.read();
        return Object.fromEntries(names.map((name, i) => [name, values[i]]));
      },
      dispose: () => {},
    };
  }

  dispose(): void {
    this.#drop();
    this.#guard?.dispose();
    this.#guard = null;
  }
}
