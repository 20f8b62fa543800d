/** A grid of samples (`samples.png`) and the sampling speed of every sampler. */
import { join } from "node:path";
import { metricValue } from "../../metrics/metric.ts";
import { gridPng } from "../views/grid.ts";
import { RUN_FILES } from "../record.ts";
import type { Evaluation } from "./context.ts";

export const samplesEvaluation: Evaluation = {
  name: "samples",
  metrics: ["sample_img_per_s"],
  appliesTo: ({ spec }) => spec.capabilities.includes("sample"),
  async run({ model, dataset, kind, config, streams, runDir, save }) {
    const count = config.sample_count;
    const start = performance.now();
    const samples = await model.sample!(count, streams.sample);
    const seconds = (performance.now() - start) / 1000;
    const unit = kind === "byte" ? samples.map((v) => v / 255) : samples;
    const columns = Math.ceil(Math.sqrt(count));
    await save(join(runDir, RUN_FILES.samples), gridPng(unit, dataset.shape, columns));
    return { sample_img_per_s: metricValue("sample_img_per_s", count / seconds) };
  },
};
