/**
 * Interpolation strips and code grids of a generator model (benchmarks/views/generator.ts): PNGs only,
 * no metric.
 */
import { join } from "node:path";
import { ganViews } from "../views/generator.ts";
import type { Evaluation } from "./context.ts";

export const generatorViewsEvaluation: Evaluation = {
  name: "generator views",
  metrics: [],
  appliesTo: ({ spec }) => spec.family === "adversarial",
  async run({ spec, model, dataset, noise, runDir, save }) {
    const conditional = spec.capabilities.includes("conditional");
    const views = await ganViews(model, dataset.shape, noise("adversarial").child("views"), {
      classes: conditional ? dataset.classes : 0,
    });
    for (const [name, png] of Object.entries(views)) await save(join(runDir, name), png);
    return {};
  },
};
