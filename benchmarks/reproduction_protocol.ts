/**
 * The protocol lines of a reproduction record: how a run's training and evaluation compare with
 * the paper's (binarization, learning-rate schedule, best-epoch selection, what was evaluated),
 * as far as the run's config and files show them.
 */
import type { PublishedReference } from "../models/model.ts";
import type { Schedule, TrainingProtocol, ValidationPoint } from "./protocol.ts";

type Json = Record<string, unknown>;

/** The ways genbench's run differs from the paper's protocol, as far as the run shows them. */
export function protocolLines(
  run: Json,
  reference: PublishedReference,
  result: Json,
  metric: Json,
  validation: ValidationPoint[],
): string[] {
  const config = run.config as Json;
  const options = config.options as Json;
  const training = (config.training ?? null) as TrainingProtocol | null;
  const lines: string[] = [];
  const seed = (run.provenance as Json & { dataset: Json }).dataset.binarization_seed;
  if (config.input === "binary") {
    const paper = reference.protocol.binarization;
    const used = training?.binarization ?? "dynamic";
    const fixed = used === "static"
      ? ` (one seeded draw of the training split, seed ${seed}${
        paper === "static" ? ", standing in for the historic file" : ""
      })`
      : "";
    lines.push(
      `training: ${used} binarization${fixed}${
        paper && paper !== used ? ` (paper: ${paper})` : ""
      }`,
    );
    lines.push(
      `test: genbench's seeded static binarization (seed ${seed}), not the historic file`,
    );
  }
  const paperSchedule = reference.protocol.schedule
    ? ` (paper: ${reference.protocol.schedule})`
    : "";
  // The optimizer a model was run with, where it has the option (MADE); Adam otherwise.
  const optimizer = options.optimizer === "adagrad" ? "AdaGrad" : "Adam";
  lines.push(
    training?.schedule
      ? `${optimizer}, lr ${options.learningRate} × ${
        scheduleText(training.schedule)
      }${paperSchedule}`
      : `${optimizer}, constant lr ${options.learningRate}${paperSchedule}`,
  );
  if (training?.earlyStopping) {
    const best = validation.reduce<ValidationPoint | null>(
      (b, p) => (b === null || p.valid_nll < b.valid_nll ? p : b),
      null,
    );
    lines.push(
      `selection: validation NLL after every epoch, patience ${training.earlyStopping.patience}` +
        (best
          ? `; ${validation.length} epochs validated, the best (epoch ${best.epoch}, ` +
            `${best.valid_nll.toFixed(2)} nats) evaluated`
          : ""),
    );
  }
  const n = typeof result.n === "number"
    ? ` on ${result.n.toLocaleString("en-US")} test images`
    : "";
  const subset = typeof metric.subset_seed === "number"
    ? ` (a seeded random subset, seed ${metric.subset_seed})`
    : "";
  lines.push(`evaluated: ${result.kind}${n}${subset}`);
  return lines;
}

/** A schedule in words: "10^(−i/7) for 1, 3, 9… epochs" style, from its data. */
function scheduleText(schedule: Schedule): string {
  if (schedule.kind === "exponential") return `${schedule.gamma}^epoch`;
  const stages = schedule.epochs.map((e, i) =>
    `${e} ep × ${Number(schedule.factors[i].toPrecision(3))}`
  );
  return `stages [${stages.join(", ")}]`;
}
