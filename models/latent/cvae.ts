/**
 * `cvae`: the class-conditional VAE (Sohn, Lee & Yan 2015, "Learning Structured Output
 * Representation using Deep Conditional Generative Models"; Kingma et al. 2014's M2 with the
 * label observed). No published number to reproduce: its bounds are on the conditional
 * log p(x|y), not comparable with an unconditional model's log p(x).
 *
 * `vae-conv`'s network with a one-hot label joined to the encoder's conv features and to the
 * decoder's input, so q(z|x, y) and p(x|z, y); unlabelled `sample` calls cycle through the
 * classes. The smallest model file, and the pattern for adding one: a spec (name, family,
 * capabilities, input kind, typed options, references, create) in a new file under models/, and
 * one line in models/registry.ts.
 */
import type { ModelSpec } from "../model.ts";
import { type OptionSchema, readOptions } from "../options.ts";
import { checkConvShape, CONV_OPTIONS, ConvVae } from "./vae_conv.ts";

/** The options of `cvae`: those of `vae-conv` (β = 1) and the number of classes. */
export const CVAE_OPTIONS = {
  ...CONV_OPTIONS,
  classes: { type: "int", default: 10, min: 2, doc: "classes of the label it is conditioned on" },
} satisfies OptionSchema;

/** `cvae`: class-conditional `vae-conv` (labels required for training and the bounds). */
export const cvaeSpec: ModelSpec = {
  name: "cvae",
  family: "latent-variable",
  description: "class-conditional conv VAE: q(z|x,y), p(x|z,y), bounds on log p(x|y)",
  capabilities: ["sample", "elbo", "reconstruct", "conditional"],
  input: "binary",
  options: CVAE_OPTIONS,
  references: [],
  create({ shape, options, init }) {
    const { latent, classes, learningRate } = readOptions("cvae", CVAE_OPTIONS, options);
    checkConvShape("cvae", shape, latent);
    return new ConvVae(shape, { latent, beta: 1, classes, learningRate }, init);
  },
};
