/** `score A B`: the feature-based metrics between two image sets (metrics/features/score.ts). */
import { UsageError } from "../core/errors.ts";
import { type BackendName, selectBackend } from "../core/backend.ts";
import { readImageSet, scoreSets } from "../metrics/features/score.ts";
import { parseFlags } from "./args.ts";

/** The `score` command. Returns the exit status; bad input throws a UsageError. */
export async function scoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("score", {
    args,
    strict: true,
    allowPositionals: true,
    options: {
      features: { type: "string", default: "lenet" },
      json: { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      backend: { type: "string", default: "cpu" },
      "kid-subsets": { type: "string" },
      "kid-subset-size": { type: "string" },
      k: { type: "string" },
      splits: { type: "string" },
      "pr-count": { type: "string" },
    },
  });
  if (positionals.length !== 2) {
    throw new UsageError("score: expected two image sets, A and B (IDX file, folder of PNGs)");
  }
  const number = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      throw new UsageError(`--${flag}: expected a non-negative integer, got "${text}"`);
    }
    return value;
  };
  await selectBackend(values.backend as BackendName);
  const [a, b] = await Promise.all(positionals.map(readImageSet));
  const result = await scoreSets(a, b, {
    features: values.features,
    seed: number("seed", values.seed),
    kidSubsets: number("kid-subsets", values["kid-subsets"]),
    kidSubsetSize: number("kid-subset-size", values["kid-subset-size"]),
    k: number("k", values.k),
    splits: number("splits", values.splits),
    prCount: number("pr-count", values["pr-count"]),
  });
  if (values.json) {
    console.log(JSON.stringify({ a: a.source, b: b.source, ...result }, null, 2));
    return 0;
  }
  console.log(`A: ${a.source} (${a.count} images)  B: ${b.source} (${b.count} images)`);
  console.log(`features: ${result.extractor.name} sha256 ${result.extractor.sha256}`);
  for (const [name, metric] of Object.entries(result.metrics)) {
    console.log(`${name.padEnd(16)} ${metric.value.toPrecision(6).padStart(12)}  ${metric.unit}`);
  }
  for (const line of result.skipped) console.log(`skipped ${line}`);
  return 0;
}
