/** The PyTorch figures bench:micro compares with: an H100 table, and CPU timings given by the user. */
import { UsageError } from "../core/errors.ts";

/**
 * PyTorch 2.11 eager training throughput on one H100, batch 128, Adam, default precision
 * (images/s, measured side by side with genbench on 2026-11-22).
 */
export const PYTORCH_IMAGES_PER_S: Record<string, number> = {
  "pixelcnn": 24615,
  "vae-conv": 31774,
  "vae-mlp": 36297,
  "nade": 31171,
  "made": 49347,
  "dcgan": 14128,
};

/** PyTorch-CPU images/s (median step) by model, then by thread count. */
export type CpuReference = Map<string, Map<number, number>>;

/**
 * Reads the JSON lines of a PyTorch-CPU timing script (one object per model and thread count,
 * with `model`, `threads` and `img_per_s_median`); other lines are ignored. A model measured
 * more than once keeps the median of its figures.
 */
export function parseCpuReference(text: string, source: string): CpuReference {
  const figures = new Map<string, Map<number, number[]>>();
  text.split("\n").forEach((line, index) => {
    if (!line.trim().startsWith("{")) return;
    let entry: { model?: unknown; threads?: unknown; img_per_s_median?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      throw new UsageError(`${source}:${index + 1}: not a JSON line of torch_cpu.py output`);
    }
    const { model, threads, img_per_s_median: speed } = entry;
    if (typeof model !== "string" || typeof threads !== "number" || typeof speed !== "number") {
      throw new UsageError(
        `${source}:${
          index + 1
        }: expected "model", "threads" and "img_per_s_median" (torch_cpu.py output)`,
      );
    }
    const byThreads = figures.get(model) ?? new Map<number, number[]>();
    byThreads.set(threads, [...(byThreads.get(threads) ?? []), speed]);
    figures.set(model, byThreads);
  });
  if (figures.size === 0) {
    throw new UsageError(`${source}: no torch_cpu.py result lines (JSON with "img_per_s_median")`);
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  return new Map(
    [...figures].map(([model, byThreads]) => [
      model,
      new Map([...byThreads].map(([threads, values]) => [threads, median(values)])),
    ]),
  );
}
