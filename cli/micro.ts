/** `bench:micro`: per-op and per-model training-step timings (benchmarks/micro.ts). */
import { type BackendName, BACKENDS } from "../core/backend.ts";
import { oneLine, UsageError } from "../core/errors.ts";
import { getModel } from "../models/registry.ts";
import { parseCpuReference, runMicro } from "../benchmarks/micro.ts";
import { type FlagHints, parseFlags, parseInteger } from "./args.ts";
import { MAX_THREADS, setThreadCount } from "../core/threads.ts";

export const MICRO_USAGE = `Usage: deno task bench:micro [options]

Times the ops and shapes the canonical models use, then one training step (batch 128) of each
registered model, on one backend; prints a table (ms, GFLOP/s, images/s, the ratio to PyTorch
on an H100 where known) and can write it as JSON.

  --backend NAME           auto (default), webgpu, cpu or wasm
  --threads N              CPU threads of the wasm backend and the host kernels (default 2)
  --kernels genbench|stock webgpu: genbench's own kernels (default) or tfjs' stock ones
  --only REGEX             only the rows whose name matches
  --models a,b             only these models' training steps (default: every model)
  --no-models              no training steps
  --no-ops                 no op timings
  --time MS                time budget of each row in milliseconds (default 1000; > 0)
  --verify                 webgpu: compare the kernels with the cpu backend first
  --no-replay              webgpu: run every training step through tfjs (default: record the
                           step and replay it, core/webgpu/stepper.ts)
  --out FILE               write the JSON report to FILE (rewritten after every row)
  --reference FILE         PyTorch-CPU figures from the same window (JSON lines with model,
                           threads, img_per_s_median): ratio columns per thread count
  -h, --help               this text`;

const MICRO_HINTS: FlagHints = {
  backend: "auto, webgpu, cpu or wasm",
  threads: `an integer from 1 to ${MAX_THREADS}`,
  kernels: "genbench or stock",
  only: "a regular expression",
  models: "a comma-separated list of models",
  time: "milliseconds > 0",
  out: "a JSON file",
  reference: "a file of torch_cpu.py output",
};

/** The `bench:micro` command. Returns the exit status; bad input throws a UsageError. */
export async function microCommand(args: string[]): Promise<number> {
  const { values } = parseFlags("bench:micro", {
    args,
    strict: true,
    options: {
      backend: { type: "string", default: "auto" },
      threads: { type: "string" },
      kernels: { type: "string", default: "genbench" },
      only: { type: "string" },
      models: { type: "string" },
      "no-models": { type: "boolean", default: false },
      "no-ops": { type: "boolean", default: false },
      time: { type: "string", default: "1000" },
      verify: { type: "boolean", default: false },
      "no-replay": { type: "boolean", default: false },
      out: { type: "string" },
      reference: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }, MICRO_HINTS);
  if (values.help) {
    console.log(MICRO_USAGE);
    return 0;
  }
  if (values.kernels !== "genbench" && values.kernels !== "stock") {
    throw new UsageError(`--kernels: expected genbench or stock, got "${values.kernels}"`);
  }
  const timeMs = Number(values.time);
  if (!(timeMs > 0) || !Number.isFinite(timeMs)) {
    throw new UsageError(`--time: "${values.time}" is not a time (expected milliseconds > 0)`);
  }
  let only: RegExp | null = null;
  try {
    only = values.only ? new RegExp(values.only) : null;
  } catch (error) {
    throw new UsageError(
      `--only: "${values.only}" is not a regular expression (${oneLine(error)})`,
    );
  }
  const models = values.models ? values.models.split(",").map((name) => name.trim()) : null;
  for (const name of models ?? []) getModel(name);
  if (!BACKENDS.includes(values.backend as BackendName)) {
    throw new UsageError(
      `--backend: unknown backend "${values.backend}" (expected one of ${BACKENDS.join(", ")})`,
    );
  }
  if (values.threads !== undefined) {
    setThreadCount(
      parseInteger(values.threads, "--threads", {
        min: 1,
        max: MAX_THREADS,
        what: "a thread count",
      }),
    );
  }
  let reference;
  if (values.reference !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(values.reference);
    } catch (error) {
      throw new UsageError(`--reference: cannot read ${values.reference} (${oneLine(error)})`);
    }
    reference = parseCpuReference(text, values.reference);
  }
  await runMicro({
    backend: values.backend as BackendName,
    kernels: values.kernels,
    only,
    models,
    noModels: values["no-models"]!,
    noOps: values["no-ops"]!,
    timeMs,
    verify: values.verify!,
    replay: !values["no-replay"],
    out: values.out,
    reference,
  });
  return 0;
}
