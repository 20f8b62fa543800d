/**
 * Per-op timings for the ops and shapes the canonical models use, and
 * one training step per registered model, on one backend (tinybench). Prints a table and can
 * write JSON. Every timed iteration ends by reading one value back, which waits for the GPU
 * queue, so the times are of finished work. The command line is `bench:micro` (cli/micro.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Bench } from "tinybench";
import { type BackendInfo, type BackendName, selectBackend } from "../core/backend.ts";
import { oneLine, UsageError } from "../core/errors.ts";
import { Stream } from "../core/rng.ts";
import { installWebGpuKernels, uninstallWebGpuKernels } from "../core/webgpu/install.ts";
import { compareWithCpu, convCases, denseCases, matMulCases } from "../core/webgpu/check.ts";
import { getTileMode } from "../core/webgpu/gemm.ts";
import { type TrainStepper, trainStepper } from "../core/webgpu/stepper.ts";
import { flushTfjs } from "../core/webgpu/dispatch.ts";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { formatIssueTable, type IssueProfile, issueProfile } from "./micro_issue.ts";
import { MODELS } from "../models/registry.ts";
import { inputKindOf } from "../models/model.ts";
import { defaultOptions } from "../models/options.ts";
import { type CpuReference, PYTORCH_IMAGES_PER_S } from "./micro_reference.ts";
import { BATCH, type OpCase, opCases } from "./micro_ops.ts";

export { parseCpuReference } from "./micro_reference.ts";
export { opCases } from "./micro_ops.ts";

/** One timed row of the table. */
export interface MicroRow {
  kind: "op" | "model";
  name: string;
  /** Median milliseconds per op call or per training step. */
  ms: number;
  /** Mean milliseconds. */
  meanMs: number;
  samples: number;
  /** Op calls or training steps per timed sample (one read-back each). */
  callsPerSample?: number;
  /** The read-back cost subtracted from each sample (ms). */
  syncMs?: number;
  /** Useful floating-point work per call, when known (ops only). */
  gflop?: number;
  /** Achieved GFLOP/s from the median. */
  gflops?: number;
  /** Training images per second at batch 128 (models only). */
  imagesPerS?: number;
  /** PyTorch's images/s on an H100 ({@link PYTORCH_IMAGES_PER_S}), when it has one. */
  pytorchImagesPerS?: number;
  /** imagesPerS / pytorchImagesPerS. */
  ratioToPytorch?: number;
  /**
   * PyTorch on the CPU measured in the same window (`--reference`, JSON lines of a timing
   * script): images/s (median step) per thread count, and this row's ratio to each.
   */
  cpuReference?: { threads: number; imagesPerS: number; ratio: number }[];
  /**
   * Compute dispatches per training step (webgpu models only): per-kernel host overhead
   * dominates small models on a GPU, and this count does not depend on which GPU.
   */
  dispatches?: number;
  /** webgpu models: the WebGPU calls of one training step and the host time to issue it. */
  issue?: IssueProfile;
  /** The same, replayed (core/webgpu/stepper.ts); the timings above are of replayed steps. */
  replayIssue?: IssueProfile;
  /** Why the model's step was not replayed (replay on, webgpu). */
  replayNote?: string;
  error?: string;
}

/** What `--out` writes. */
export interface MicroReport {
  backend: BackendInfo;
  kernels: "genbench" | "stock" | "n/a";
  tiles: string | null;
  /** webgpu: whether training steps were replayed (`--no-replay` turns it off). */
  replay: boolean;
  date: string;
  deno: string;
  /** Latency of one read-back on an idle queue, subtracted from every sample (ms). */
  syncMs: number;
  rows: MicroRow[];
  verify?: { name: string; relError: number; deterministic: boolean }[];
}

async function syncOn(t: tf.Tensor): Promise<void> {
  // Reading one value waits for everything queued before it.
  const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
  await one.data();
  one.dispose();
}

function fill(shape: number[], stream: Stream): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = 2 * stream.uniform() - 1;
  return tf.tensor(values, shape);
}

async function timeTask(
  name: string,
  fn: () => Promise<void>,
  timeMs: number,
  minIterations: number,
): Promise<{ ms: number; meanMs: number; samples: number }> {
  const bench = new Bench({
    time: timeMs,
    iterations: minIterations,
    warmupIterations: 2,
    warmupTime: 0,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0].result;
  if (!("latency" in result)) throw new Error(`${name}: no timing (state ${result.state})`);
  return {
    ms: result.latency.p50,
    meanMs: result.latency.mean,
    samples: result.latency.samplesCount,
  };
}

/**
 * The latency of a read-back when the queue is already empty (median of 9). Deno's WebGPU
 * polls for mapped buffers, so on an H100 this floor was ~12 ms: more than most ops take.
 */
async function syncLatency(): Promise<number> {
  const t = tf.zeros([4]);
  await syncOn(t);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    await syncOn(t);
    times.push(performance.now() - t0);
  }
  t.dispose();
  return times.sort((a, b) => a - b)[4];
}

/**
 * Calls per timed iteration so that the work, not the read-back at its end, fills it. From
 * the time of 1 call + read-back and of `n` calls + read-back: the time per call, and the
 * read-back's cost after queued work (which on an H100 was ~12 ms, far above its idle latency:
 * Deno's WebGPU polls for finished work). That cost is subtracted from every sample.
 */
async function chooseReps(
  once: (n: number) => Promise<void>,
  targetMs: number,
  cap: number,
): Promise<{ reps: number; syncMs: number }> {
  await once(1); // compile
  const timeOf = async (n: number) => {
    const t0 = performance.now();
    await once(n);
    return performance.now() - t0;
  };
  const one = Math.min(await timeOf(1), await timeOf(1));
  // A call longer than the target (a model step on the CPU) runs alone; its read-back is
  // negligible beside it.
  if (one >= targetMs) return { reps: 1, syncMs: 0 };
  const n = 6;
  const many = Math.min(await timeOf(n), await timeOf(n));
  const perCall = Math.max((many - one) / (n - 1), 1e-3);
  return {
    reps: Math.max(1, Math.min(cap, Math.ceil(targetMs / perCall))),
    syncMs: Math.max(one - perCall, 0),
  };
}

/** Time one op: many calls per iteration, then one read-back, whose latency is subtracted. */
async function timeOp(
  op: OpCase,
  stream: Stream,
  timeMs: number,
  idleSync: number,
): Promise<MicroRow> {
  const inputs = op.shapes.map((s) => fill(s, stream));
  try {
    const calls = async (n: number) => {
      let last: tf.Tensor | null = null;
      for (let r = 0; r < n; r++) {
        last?.dispose();
        last = op.run(inputs);
      }
      await syncOn(last!);
      last!.dispose();
    };
    const { reps, syncMs } = await chooseReps(calls, 200, 2000);
    const sync = Math.max(syncMs, idleSync);
    const timing = await timeTask(op.name, () => calls(reps), timeMs, 5);
    const ms = Math.max(timing.ms - sync, 0) / reps;
    return {
      kind: "op",
      name: op.name,
      ms,
      meanMs: Math.max(timing.meanMs - sync, 0) / reps,
      samples: timing.samples,
      callsPerSample: reps,
      syncMs: sync,
      gflop: op.gflop,
      gflops: op.gflop / (ms / 1000),
    };
  } finally {
    tf.dispose(inputs);
  }
}

/** The parameter shapes of vae-mlp (784-200-200-2·50 encoder, 50-200-200-784 decoder). */
const VAE_MLP_SHAPES: number[][] = [
  [784, 200],
  [200],
  [200, 200],
  [200],
  [200, 100],
  [100],
  [50, 200],
  [200],
  [200, 200],
  [200],
  [200, 784],
  [784],
];

/** Time one Adam update of all vae-mlp parameters (425,284 scalars, 12 tensors). */
async function timeAdam(stream: Stream, timeMs: number, idleSync: number): Promise<MicroRow> {
  const vars = VAE_MLP_SHAPES.map((s) => tf.variable(fill(s, stream)));
  const grads = VAE_MLP_SHAPES.map((s) => fill(s, stream));
  const named = grads.map((tensor, i) => ({ name: vars[i].name, tensor }));
  const optimizer = tf.train.adam(1e-3);
  const name = "adam update (vae-mlp, 425,284 params)";
  try {
    const updates = async (n: number) => {
      for (let r = 0; r < n; r++) optimizer.applyGradients(named);
      await syncOn(vars[0]);
    };
    const { reps, syncMs } = await chooseReps(updates, 200, 200);
    const sync = Math.max(syncMs, idleSync);
    const raw = await timeTask(name, () => updates(reps), timeMs, 5);
    return {
      kind: "op",
      name,
      ms: Math.max(raw.ms - sync, 0) / reps,
      meanMs: Math.max(raw.meanMs - sync, 0) / reps,
      samples: raw.samples,
      callsPerSample: reps,
      syncMs: sync,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([...vars, ...grads]);
  }
}

/** A batch of 128 images in the model's input units. */
function batchFor(kind: string, dim: number, stream: Stream): Float32Array {
  const values = new Float32Array(BATCH * dim);
  for (let i = 0; i < values.length; i++) {
    const u = stream.uniform();
    values[i] = kind === "binary" ? (u < 0.5 ? 1 : 0) : kind === "byte" ? Math.floor(u * 256) : u;
  }
  return values;
}

/** Time one training step of a registered model at batch 128 on random data. */
async function timeModel(
  name: string,
  timeMs: number,
  idleSync: number,
  replay: boolean,
  reference?: CpuReference,
): Promise<MicroRow> {
  const spec = MODELS.find((m) => m.name === name);
  if (!spec) throw new UsageError(`--models: unknown model "${name}"`);
  const shape = { height: 28, width: 28, channels: 1 };
  const options = { ...defaultOptions(spec.options), batchSize: BATCH };
  const model = spec.create({ shape, options, init: Stream.derive(1, "init") });
  const data = Stream.derive(1, "micro-data");
  const noise = Stream.derive(1, "micro-noise");
  const batchValues = batchFor(inputKindOf(spec, options), 784, data);
  // Labels as the runner gives them: classes in turn for a conditional model; for a model that
  // trains on a split of its own (labelled by domain), its first two codes in turn (every step
  // of such a model has one shape whatever the mix).
  const conditional = spec.capabilities.includes("conditional");
  const labelValues = conditional || spec.trainingSplit
    ? Float32Array.from({ length: BATCH }, (_, i) => i % (conditional ? 10 : 2))
    : undefined;
  // A step as the training loop runs it: the batch (and labels) made on the host and uploaded.
  const step = (stepper: TrainStepper) => {
    const batch = tf.tensor2d(batchValues, [BATCH, 784]);
    const labels = labelValues && tf.tensor1d(labelValues, "float32");
    const result = stepper.step(batch, noise, labels);
    tf.dispose([batch, ...(labels ? [labels] : [])]);
    return result;
  };
  const webgpu = tf.getBackend() === "webgpu";
  const stepper = trainStepper(model, { replay: webgpu && replay });
  try {
    // The profile of a step through tfjs first: once replayed, every step must be.
    const plain = trainStepper(model, { replay: false });
    const issue = webgpu
      ? await issueProfile(() => {
        const result = step(plain);
        flushTfjs(tf.backend() as WebGPUBackend);
        return result;
      })
      : undefined;
    // As in a training loop that logs rarely: steps are queued back to back and only the
    // last step's loss is read.
    const steps = async (n: number) => {
      for (let r = 0; r < n; r++) {
        const result = step(stepper);
        if (r === n - 1) await result.values();
        result.dispose();
      }
    };
    const { reps, syncMs } = await chooseReps(steps, 300, 50);
    const sync = Math.max(syncMs, idleSync);
    const raw = await timeTask(name, () => steps(reps), timeMs, 3);
    const timing = {
      ms: Math.max(raw.ms - sync, 0) / reps,
      meanMs: Math.max(raw.meanMs - sync, 0) / reps,
      samples: raw.samples,
      callsPerSample: reps,
      syncMs: sync,
    };
    const imagesPerS = BATCH / (timing.ms / 1000);
    const ref = PYTORCH_IMAGES_PER_S[name];
    const replayIssue = webgpu && replay && stepper.note === null
      ? await issueProfile(() => step(stepper))
      : undefined;
    return {
      kind: "model",
      name: `train step ${name}`,
      ...timing,
      imagesPerS,
      pytorchImagesPerS: ref,
      ratioToPytorch: ref ? imagesPerS / ref : undefined,
      cpuReference: reference?.has(name)
        ? [...reference.get(name)!].sort((a, b) => b[0] - a[0]).map(([threads, speed]) => ({
          threads,
          imagesPerS: speed,
          ratio: imagesPerS / speed,
        }))
        : undefined,
      dispatches: issue?.dispatches,
      issue,
      replayIssue,
      replayNote: stepper.note ?? undefined,
    };
  } finally {
    stepper.dispose();
    model.dispose();
  }
}

function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return "";
  return n >= 100 ? n.toFixed(0) : n.toPrecision(digits);
}

/**
 * The table printed at the end. With a CPU reference, its columns (PyTorch images/s and the
 * ratio, per thread count) replace the H100 ones.
 */
export function formatTable(rows: MicroRow[]): string {
  const threads = [...new Set(rows.flatMap((r) => r.cpuReference?.map((c) => c.threads) ?? []))]
    .sort((a, b) => b - a);
  const refHead = threads.length
    ? threads.flatMap((t) => [`PyTorch ${t}t img/s`, `ratio ${t}t`])
    : ["PyTorch img/s", "ratio"];
  const refCells = (r: MicroRow) =>
    threads.length
      ? threads.flatMap((t) => {
        const c = r.cpuReference?.find((x) => x.threads === t);
        return c ? [fmt(c.imagesPerS), c.ratio.toFixed(3)] : ["", ""];
      })
      : [
        fmt(r.pytorchImagesPerS),
        r.ratioToPytorch === undefined ? "" : r.ratioToPytorch.toFixed(3),
      ];
  const head = ["what", "ms (p50)", "GFLOP/s", "img/s", ...refHead, "dispatches"];
  const body = rows.map((r) =>
    r.error ? [r.name, `error: ${r.error}`, ...head.slice(2).map(() => "")] : [
      r.name,
      fmt(r.ms),
      fmt(r.gflops),
      fmt(r.imagesPerS),
      ...refCells(r),
      r.dispatches === undefined ? "" : String(r.dispatches),
    ]
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** What {@link runMicro} times and where it writes (the flags of `bench:micro`, cli/micro.ts). */
export interface MicroOptions {
  backend: BackendName;
  /** Our WebGPU kernels or TensorFlow.js' own (webgpu only). */
  kernels: "genbench" | "stock";
  /** Only the rows whose name matches. */
  only: RegExp | null;
  /** Only these models' training steps (default: every registered model). */
  models: string[] | null;
  noModels: boolean;
  noOps: boolean;
  /** tinybench's time budget per row (ms). */
  timeMs: number;
  /** Compare the WebGPU kernels with the cpu backend first (webgpu only). */
  verify: boolean;
  /** A JSON file rewritten after every row. */
  out?: string;
  /** PyTorch-CPU figures from the same window (`--reference`), for ratio columns. */
  reference?: CpuReference;
  /** webgpu: replay recorded training steps (core/webgpu/stepper.ts); default on. */
  replay?: boolean;
}

/** Time every op and model training step of `options`, printing a row as each finishes. */
export async function runMicro(options: MicroOptions): Promise<MicroReport> {
  const { timeMs, only } = options;
  const backend = await selectBackend(options.backend);
  let kernels: MicroReport["kernels"] = "n/a";
  if (backend.name === "webgpu") {
    if (options.kernels === "genbench") {
      installWebGpuKernels(backend.fallbackAdapter ? "small" : "large");
    } else {
      uninstallWebGpuKernels();
    }
    kernels = options.kernels;
  }
  console.log(
    `backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}, kernels ${kernels}`,
  );
  const report: MicroReport = {
    backend,
    kernels,
    tiles: kernels === "genbench" ? getTileMode() : null,
    replay: backend.name === "webgpu" && (options.replay ?? true),
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    syncMs: 0,
    rows: [],
  };
  if (options.verify && backend.name === "webgpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    report.verify = await compareWithCpu(
      [...convCases(), ...matMulCases(), ...denseCases()],
      Stream.derive(1, "micro-verify"),
    );
    const worst = Math.max(...report.verify.map((v) => v.relError));
    const nondet = report.verify.filter((v) => !v.deterministic).map((v) => v.name);
    console.log(
      `verify: ${report.verify.length} cases, worst relative error ${worst.toExponential(2)}, ` +
        `non-deterministic: ${nondet.length ? nondet.join("; ") : "none"}`,
    );
  }
  report.syncMs = await syncLatency();
  console.log(
    `read-back latency on an idle queue: ${report.syncMs.toFixed(2)} ms; the cost after ` +
      "queued work is measured per row and subtracted",
  );
  const stream = Stream.derive(1, "micro-ops");
  const write = async () => {
    if (options.out) await Deno.writeTextFile(options.out, JSON.stringify(report, null, 2) + "\n");
  };
  // Times one row; a failure becomes a row with its error, so one broken case
  // does not hide the others (a usage error still stops the run).
  const measure = async (
    kind: MicroRow["kind"],
    name: string,
    time: () => Promise<MicroRow>,
  ) => {
    let row: MicroRow;
    try {
      row = await time();
    } catch (error) {
      if (error instanceof UsageError) throw error;
      row = { kind, name, ms: NaN, meanMs: NaN, samples: 0, error: oneLine(error) };
    }
    report.rows.push(row);
    console.log(formatTable([row]).split("\n")[2]);
    await write();
  };
  if (!options.noOps) {
    for (const op of opCases()) {
      if (only && !only.test(op.name)) continue;
      await measure("op", op.name, () => timeOp(op, stream, timeMs, report.syncMs));
    }
    if (!only || only.test("adam update")) {
      await measure("op", "adam update", () => timeAdam(stream, timeMs, report.syncMs));
    }
  }
  if (!options.noModels) {
    const names = options.models ?? MODELS.map((m) => m.name);
    for (const name of names) {
      if (only && !only.test(`train step ${name}`)) continue;
      await measure(
        "model",
        `train step ${name}`,
        () => timeModel(name, timeMs, report.syncMs, options.replay ?? true, options.reference),
      );
    }
  }
  console.log("\n" + formatTable(report.rows));
  if (report.rows.some((r) => r.issue)) {
    console.log("\nOne training step on the GPU queue:\n" + formatIssueTable(report.rows));
  }
  await write();
  return report;
}
