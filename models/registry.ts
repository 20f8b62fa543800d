/** Every model genbench can run, by name. A new model is one import and one entry here. */
import { UsageError } from "../core/errors.ts";
import type { ModelSpec } from "./model.ts";
import { bernoulli } from "./bernoulli.ts";
import { vaeMlp } from "./vae_mlp.ts";
import { ganMlp } from "./gan_mlp.ts";
import { cgan, dcgan } from "./dcgan.ts";
import { infogan } from "./infogan.ts";
import { nadeSpec } from "./nade.ts";
import { madeSpec } from "./made.ts";
import { pixelCnnSpec } from "./pixelcnn.ts";
import { gatedPixelCnnSpec } from "./gated_pixelcnn.ts";
import { aeSpec, betaVaeSpec, vaeConvSpec } from "./vae_conv.ts";
import { aaeSpec } from "./aae.ts";
import { cvaeSpec } from "./cvae.ts";

export const MODELS: ModelSpec[] = [
  bernoulli,
  vaeMlp,
  ganMlp,
  dcgan,
  cgan,
  infogan,
  nadeSpec,
  madeSpec,
  pixelCnnSpec,
  gatedPixelCnnSpec,
  vaeConvSpec,
  betaVaeSpec,
  aeSpec,
  aaeSpec,
  cvaeSpec,
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
