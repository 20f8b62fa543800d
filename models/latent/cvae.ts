/**
 * `cvae`: the class-conditional VAE (Sohn et al. 2015; Kingma et al. 2014's M2 with the label
 * observed): `vae-conv`'s network with a one-hot label joined to the encoder's conv features and
 * to the decoder's input, so q(z|x, y) and p(x|z, y). Its ELBO and IWAE bounds bound the
 * conditional log p(x|y), which is not comparable with an unconditional model's log p(x).
 * Unlabelled `sample` calls cycle through the classes.
 */
import type { ModelSpec } from "../model.ts";
import { checkConvShape, ConvVae, numberOption } from "./vae_conv.ts";

/** `cvae`: class-conditional `vae-conv` (labels required for training and the bounds). */
export const cvaeSpec: ModelSpec = {
  name: "cvae",
  family: "latent-variable",
  description: "class-conditional conv VAE: q(z|x,y), p(x|z,y), bounds on log p(x|y)",
  capabilities: ["sample", "elbo", "reconstruct", "conditional"],
  input: "binary",
  defaults: { batchSize: 128, learningRate: 1e-3, latent: 32, classes: 10 },
  create({ shape, options, init }) {
    const latent = Number(options.latent);
    checkConvShape("cvae", shape, latent);
    const rule = "an integer ≥ 2";
    return new ConvVae(shape, {
      latent,
      beta: 1,
      classes: numberOption("cvae", options, "classes", (v) => Number.isInteger(v) && v >= 2, rule),
      learningRate: numberOption("cvae", options, "learningRate", (v) => v > 0, "> 0"),
    }, init);
  },
};
