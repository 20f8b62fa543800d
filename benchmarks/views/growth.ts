/**
 * The growth view of a progressive GAN (models/adversarial/progan.ts): one row per resolution
 * stage, G as it left that stage (the last row: G as trained), every row decoding the same prior
 * draws, each stage's images upsampled (nearest) to full size and labelled with its side length.
 * Stages that ended before a resume of the run are missing (G's copies at a stage's end live on
 * the device only; checkpoints hold the current weights), which `growth.json` says.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import type { ImageShape } from "../../datasets/dataset.ts";
import type { Progan } from "../../models/adversarial/progan.ts";
import { STAGES } from "../../models/adversarial/progan_nets.ts";
import { gridPng } from "./grid.ts";

/** The files the growth view writes into a run's folder. */
export const GROWTH_VIEWS = ["growth.png", "growth.json"] as const;

/** What `growth.json` records. */
export interface GrowthRecord {
  /** The rows of growth.png, top to bottom. */
  rows: { stage: number; size: number; when: "end of stage" | "end of training" }[];
  /** Where training stopped: the stage, the fade-in α, and whether samples are upsampled. */
  final: { stage: number; alpha: number; size: number; upsampled: boolean };
  /** Stages that ended before this process trained (a resumed run) and have no row. */
  missing: number[];
}

/** `growth.png` (one row per stage, `columns` shared draws) and `growth.json`. */
export async function growthViews(
  model: Progan,
  shape: ImageShape,
  noise: Stream,
  columns = 10,
): Promise<{ png: Uint8Array; record: GrowthRecord }> {
  const stages = model.stageGenerators();
  const z = tf.tensor2d(noise.normalArray(columns * model.latent), [columns, model.latent]);
  const rows: Float32Array[] = [];
  try {
    for (const stage of stages) {
      const images = stage.decode(z);
      rows.push(await images.data() as Float32Array);
      images.dispose();
    }
  } finally {
    z.dispose();
  }
  const all = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  rows.reduce((at, r) => (all.set(r, at), at + r.length), 0);
  const labels = stages.map((s) => String(s.size));
  const live = model.growth();
  const final = stages.at(-1)!;
  const shown = new Set(stages.map((s) => s.stage));
  return {
    png: gridPng(all, shape, columns, 2, labels),
    record: {
      rows: stages.map((s, i) => ({
        stage: s.stage,
        size: s.size,
        when: i === stages.length - 1 ? "end of training" : "end of stage",
      })),
      final: {
        stage: live.stage,
        alpha: live.alpha,
        size: final.size,
        upsampled: live.stage < STAGES - 1,
      },
      missing: Array.from({ length: live.stage }, (_, s) => s).filter((s) => !shown.has(s)),
    },
  };
}
