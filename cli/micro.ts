/** `bench:micro`: per-op and per-model training-step timings (benchmarks/micro.ts). */
import { type BackendName } from "../core/backend.ts";
import { UsageError } from "../core/errors.ts";
import { runMicro } from "../benchmarks/micro.ts";
import { parseFlags } from "./args.ts";

export const MICRO_USAGE =
  "deno task bench:micro [--backend auto|webgpu|cpu|wasm] [--kernels genbench|stock] " +
  "[--only REGEX] [--models a,b] [--no-models] [--no-ops] [--time MS] [--verify] [--out FILE]";

/** The `bench:micro` command. Returns the exit status; bad input throws a UsageError. */
export async function microCommand(args: string[]): Promise<number> {
  const { values } = parseFlags("bench:micro", {
    args,
    strict: true,
    options: {
      backend: { type: "string", default: "auto" },
      kernels: { type: "string", default: "genbench" },
      only: { type: "string" },
      models: { type: "string" },
      "no-models": { type: "boolean", default: false },
      "no-ops": { type: "boolean", default: false },
      time: { type: "string", default: "1000" },
      verify: { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(MICRO_USAGE);
    return 0;
  }
  if (values.kernels !== "genbench" && values.kernels !== "stock") {
    throw new UsageError(`--kernels: expected genbench or stock, got "${values.kernels}"`);
  }
  const timeMs = Number(values.time);
  if (!(timeMs > 0)) throw new UsageError(`--time: expected milliseconds > 0`);
  await runMicro({
    backend: values.backend as BackendName,
    kernels: values.kernels,
    only: values.only ? new RegExp(values.only) : null,
    models: values.models ? values.models.split(",") : null,
    noModels: values["no-models"]!,
    noOps: values["no-ops"]!,
    timeMs,
    verify: values.verify!,
    out: values.out,
  });
  return 0;
}
