/** `score A B`: the feature-based metrics between two image sets (metrics/features/score.ts). */
import { UsageError } from "../core/errors.ts";
import { type BackendName, BACKENDS } from "../core/backend.ts";
import { MAX_SEED } from "../core/rng.ts";
import { readImageSet, scoreSets } from "../metrics/features/score.ts";
import { type FlagHints, parseFlags, parseInteger } from "./args.ts";
import { chooseBackend } from "./backend.ts";

export const SCORE_USAGE = `Usage: deno task score A B [options]

The feature-based metrics of image set A against image set B (B plays the real images): FID,
KID, precision and recall (A inside B's manifold, B inside A's), and A's Inception-style score,
class entropy and label accuracy where the features have a classifier. A and B are each an IDX
images file (plain or .gz, N×H×W or N×H×W×1), a folder holding samples.idx (or .idx.gz), or a
folder of PNG files (grey or RGB, averaged to grey); both of the same image size.

  --features lenet|pixels|FILE  the feature extractor (default lenet: the MNIST classifier;
                           pixels: raw pixels; FILE: classifier weights JSON)
  --json                   print the result as JSON
  --seed N                 seed of the random subsets (default 1; 0 to ${MAX_SEED})
  --backend NAME           ${BACKENDS.join(", ")} (default cpu)
  --kid-subsets N          KID: subsets averaged (default 100; ≥ 1)
  --kid-subset-size N      KID: images per subset (default 1000, or fewer if the sets are
                           smaller; ≥ 2)
  --k N                    precision/recall: the k-th neighbour radius (default 3; ≥ 1)
  --splits N               Inception-style score: splits of A (default 10; ≥ 1)
  --pr-count N             precision/recall: images of each set used (default 10000; ≥ 2)
  -h, --help               this text`;

const SCORE_HINTS: FlagHints = {
  features: "lenet, pixels or a weights file",
  seed: `an integer from 0 to ${MAX_SEED}`,
  backend: BACKENDS.join(", "),
  "kid-subsets": "an integer ≥ 1",
  "kid-subset-size": "an integer ≥ 2",
  k: "an integer ≥ 1",
  splits: "an integer ≥ 1",
  "pr-count": "an integer ≥ 2",
};

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
      help: { type: "boolean", short: "h", default: false },
    },
  }, SCORE_HINTS);
  if (values.help) {
    console.log(SCORE_USAGE);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `score: expected two image sets, A and B (IDX file, folder of PNGs), got ${positionals.length} (see score --help)`,
    );
  }
  const number = (flag: string, text: string | undefined, min: number, max?: number) =>
    text === undefined ? undefined : parseInteger(text, `--${flag}`, { min, max });
  const options = {
    features: values.features,
    seed: number("seed", values.seed, 0, MAX_SEED),
    kidSubsets: number("kid-subsets", values["kid-subsets"], 1),
    kidSubsetSize: number("kid-subset-size", values["kid-subset-size"], 2),
    k: number("k", values.k, 1),
    splits: number("splits", values.splits, 1),
    prCount: number("pr-count", values["pr-count"], 2),
  };
  if (!BACKENDS.includes(values.backend as BackendName)) {
    throw new UsageError(
      `--backend: unknown backend "${values.backend}" (expected one of ${BACKENDS.join(", ")})`,
    );
  }
  const [a, b] = await Promise.all(positionals.map(readImageSet));
  for (const [name, set] of [["A", a], ["B", b]] as const) {
    // Every metric of an empty set is undefined (FID, KID) or vacuous (P = R = 1).
    if (set.count === 0) throw new UsageError(`score: ${name} (${set.source}) holds no images`);
  }
  await chooseBackend(values.backend as BackendName);
  const result = await scoreSets(a, b, options);
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
