/** The flags and the learning-rate schedule that both classifier-training scripts share. */

/** `parseArgs` options of the training settings, `epochs` defaulting to `epochs`. */
export function trainingFlags(epochs: string) {
  return {
    epochs: { type: "string", default: epochs },
    seed: { type: "string", default: "1" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "0.002" },
    limit: { type: "string" },
  } as const;
}

/** The numbers of the flags of {@link trainingFlags}. */
export function trainingSettings(
  values: { epochs: string; seed: string; batch: string; lr: string },
) {
  return {
    epochs: Number(values.epochs),
    seed: Number(values.seed),
    batchSize: Number(values.batch),
    lr: Number(values.lr),
  };
}

/** Training images: all `count`, or the first `limit` of them. */
export function trainCountOf(limit: string | undefined, count: number): number {
  return limit ? Math.min(Number(limit), count) : count;
}

/** Cosine decay from `lr` at step 0 to 5% of it at step `steps`. */
export function cosineRate(lr: number, step: number, steps: number): number {
  return lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
}

/** What a weights file records of the run that trained it (the JSON keys in this order). */
export function trainingRecord(
  trainedBy: string,
  settings: ReturnType<typeof trainingSettings>,
  trainImages: number,
  dataset: string,
) {
  const { seed, epochs, batchSize, lr } = settings;
  return { trainedBy, seed, epochs, batchSize, learningRate: lr, trainImages, dataset };
}
