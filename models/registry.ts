/** Every model genbench can run, by name. A new model is one import and one entry here. */
import { UsageError } from "../core/errors.ts";
import type { ModelSpec } from "./model.ts";
import { bernoulli } from "./bernoulli.ts";
import { vaeMlp } from "./vae_mlp.ts";
import { ganMlp } from "./gan_mlp.ts";

export const MODELS: ModelSpec[] = [
  bernoulli,
  vaeMlp,
  ganMlp,
];

/** The model spec called `name`, or a one-line error. */
export function getModel(name: string): ModelSpec {
  const spec = MODELS.find((m) => m.name === name);
  if (!spec) {
    throw new UsageError(
      `--models: unknown model "${name}" (expected one of ${MODELS.map((m) => m.name).join(", ")})`,
    );
  }
  return spec;
}
