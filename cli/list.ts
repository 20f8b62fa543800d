/**
 * `list`: every registered model (with its options' defaults and its published numbers), suite,
 * dataset, backend and metric; `list MODEL` shows one model's options in full (type, range,
 * default, meaning) and its references with their protocols.
 */
import { BACKENDS } from "../core/backend.ts";
import { UsageError } from "../core/errors.ts";
import { DATASETS } from "../datasets/registry.ts";
import type { ModelSpec, PublishedReference } from "../models/model.ts";
import { describeOption } from "../models/options.ts";
import { getModel, MODELS } from "../models/registry.ts";
import { METRICS } from "../metrics/metric.ts";
import { SUITES } from "../benchmarks/suites.ts";

/** The text of `list`. */
export function listText(): string {
  const lines = ["Models:"];
  for (const m of MODELS) {
    const input = typeof m.input === "function" ? "options" : m.input;
    lines.push(
      `  ${m.name.padEnd(16)} ${m.family.padEnd(16)} ${m.capabilities.join(", ")} ` +
        `(input: ${input})`,
      `  ${"".padEnd(16)} ${m.description}`,
      `  ${"".padEnd(16)} options: ${
        Object.entries(m.options).map(([key, o]) => `${key}=${o.default}`).join(" ")
      }`,
      ...(m.references ?? []).map((r) => `  ${"".padEnd(16)} published: ${referenceLine(r)}`),
    );
  }
  lines.push("", "Suites:");
  for (const s of Object.values(SUITES)) {
    lines.push(`  ${s.name.padEnd(8)} ${s.description}`);
    lines.push(`  ${"".padEnd(8)} ${s.entries.map((e) => `${e.model}:${e.steps}`).join(" ")}`);
  }
  lines.push("", "Datasets:");
  for (const d of DATASETS) lines.push(`  ${d.name.padEnd(10)} ${d.description}`);
  lines.push("", `Backends: ${BACKENDS.join(", ")}`, "", "Metrics:");
  for (const m of Object.values(METRICS)) {
    lines.push(
      `  ${m.name.padEnd(18)} ${m.unit.padEnd(10)} ${m.better.padEnd(6)} ${m.description}`,
    );
  }
  return lines.join("\n");
}

/** One published number in a line: value, unit, kind, dataset, binarization, source. */
function referenceLine(r: PublishedReference): string {
  const binarization = r.protocol.binarization ? `, ${r.protocol.binarization} binarization` : "";
  return `${r.value} ${r.unit} ${r.kind} (${r.dataset}${binarization}; ${r.paper}; ${r.status})`;
}

/** The text of `list MODEL`: every option in full, every reference with its protocol. */
export function modelText(spec: ModelSpec): string {
  const lines = [
    `${spec.name} (${spec.family}): ${spec.description}`,
    "",
    "Options (--set " +
    `${spec.name}.KEY=VALUE):`,
  ];
  for (const [key, option] of Object.entries(spec.options)) {
    lines.push(
      `  ${key.padEnd(16)} ${describeOption(option)}; default ${option.default}`,
      `  ${"".padEnd(16)} ${option.doc}`,
    );
  }
  lines.push("", "Published references:");
  if (!spec.references?.length) lines.push("  none");
  for (const r of spec.references ?? []) {
    lines.push(`  ${referenceLine(r)}`);
    for (const [key, value] of Object.entries(r.protocol)) {
      if (value !== undefined) lines.push(`    ${key}: ${value}`);
    }
    if (r.note) lines.push(`    note: ${r.note}`);
  }
  return lines.join("\n");
}

/** The `list` command: `list`, or `list MODEL` for one model in full. */
export function listCommand(args: string[]): Promise<number> {
  if (args.length > 1 || args[0]?.startsWith("-")) {
    throw new UsageError(`list: expected nothing or one model name (got ${args.join(" ")})`);
  }
  console.log(args.length ? modelText(getModel(args[0], "list")) : listText());
  return Promise.resolve(0);
}
