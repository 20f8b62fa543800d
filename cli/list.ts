/** `list`: every registered model, suite, dataset, backend and metric. */
import { BACKENDS } from "../core/backend.ts";
import { DATASETS } from "../datasets/registry.ts";
import { MODELS } from "../models/registry.ts";
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

/** The `list` command. */
export function listCommand(_args: string[]): Promise<number> {
  console.log(listText());
  return Promise.resolve(0);
}
