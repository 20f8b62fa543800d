/** Every model genbench can run, by name. A new model is one import and one entry here. */
import { UsageError } from "../core/errors.ts";
import type { ModelSpec } from "./model.ts";
import { bernoulli } from "./autoregressive/bernoulli.ts";
import { vaeMlp } from "./latent/vae_mlp.ts";
import { ganMlp } from "./adversarial/gan_mlp.ts";
import { cgan, dcgan } from "./adversarial/dcgan.ts";
import { infogan } from "./adversarial/infogan.ts";
import { nadeSpec } from "./autoregressive/nade.ts";
import { madeSpec } from "./autoregressive/made.ts";
import { pixelCnnSpec } from "./autoregressive/pixelcnn.ts";
import { gatedPixelCnnSpec } from "./autoregressive/gated_pixelcnn.ts";
import { aeSpec, betaVaeSpec, vaeConvSpec } from "./latent/vae_conv.ts";
import { aaeSpec } from "./latent/aae.ts";
import { cvaeSpec } from "./latent/cvae.ts";
import { pixelRnnDiagonalSpec, pixelRnnRowSpec } from "./autoregressive/pixelrnn.ts";
import { ddpmSpec } from "./latent/ddpm.ts";
import { progan } from "./adversarial/progan.ts";
import { text2image } from "./adversarial/text2image.ts";
import { puzzleGan } from "./adversarial/puzzle_gan.ts";
import { cyclegan } from "./adversarial/cyclegan.ts";
import { stargan } from "./adversarial/stargan.ts";

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
  pixelRnnRowSpec,
  pixelRnnDiagonalSpec,
  ddpmSpec,
  progan,
  puzzleGan,
  cyclegan,
  stargan,
  text2image,
];

/** The model spec called `name`, or a one-line error that starts with `where` (a flag, a file). */
export function getModel(name: string, where = "--models"): ModelSpec {
  const spec = MODELS.find((m) => m.name === name);
  if (!spec) {
    throw new UsageError(
      `${where}: unknown model "${name}" (expected one of ${MODELS.map((m) => m.name).join(", ")})`,
    );
  }
  return spec;
}
