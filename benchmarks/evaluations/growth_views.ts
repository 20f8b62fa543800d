/**
 * The growth view of a progressive GAN (benchmarks/views/growth.ts): `growth.png` and
 * `growth.json` (which stage and α training reached, whether samples are upsampled); no metric.
 */
import { join } from "node:path";
import { hasStages } from "../../models/adversarial/progan.ts";
import { growthViews } from "../views/growth.ts";
import { type Evaluation, jsonBytes } from "./context.ts";

export const growthViewsEvaluation: Evaluation = {
  name: "growth views",
  metrics: [],
  appliesTo: ({ model }) => hasStages(model),
  async run({ model, dataset, noise, runDir, save }) {
    if (!hasStages(model)) return {};
    const { png, record } = await growthViews(model, dataset.shape, noise("growth"));
    await save(join(runDir, "growth.png"), png);
    await save(join(runDir, "growth.json"), jsonBytes(record));
    return {};
  },
};
