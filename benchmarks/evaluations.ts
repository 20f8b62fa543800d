/**
 * The evaluations of a trained model, in the order they run. Each entry says which metrics it
 * produces and which models it applies to (benchmarks/evaluations/context.ts); adding a metric
 * is one file in benchmarks/evaluations/ plus one line here. The likelihood runs first and is
 * the only one that draws from the evaluation stream itself; every other draws from a named
 * child of it, so adding or removing one never changes the numbers of another.
 */
import type { MetricValue } from "../metrics/metric.ts";
import type { Evaluation, EvaluationContext } from "./evaluations/context.ts";
import { likelihoodEvaluation } from "./evaluations/likelihood.ts";
import { samplesEvaluation } from "./evaluations/samples.ts";
import { reconstructionEvaluation } from "./evaluations/reconstruction.ts";
import { generatorViewsEvaluation } from "./evaluations/generator_views.ts";
import { growthViewsEvaluation } from "./evaluations/growth_views.ts";
import { aisEvaluation } from "./evaluations/ais.ts";
import { parzenEvaluation } from "./evaluations/parzen.ts";
import { featureEvaluation } from "./evaluations/features.ts";
import { realDataEvaluation } from "./evaluations/real_data.ts";
import { completionEvaluation } from "./evaluations/completion.ts";
import { translationEvaluation } from "./evaluations/translation.ts";
import { text2imageEvaluation } from "./evaluations/text2image.ts";

export type { Evaluation, EvaluationContext } from "./evaluations/context.ts";

/** Every evaluation, in the order it runs (and its metrics appear in metrics.json). */
export const EVALUATIONS: readonly Evaluation[] = [
  likelihoodEvaluation,
  samplesEvaluation,
  reconstructionEvaluation,
  generatorViewsEvaluation,
  growthViewsEvaluation,
  aisEvaluation,
  parzenEvaluation,
  featureEvaluation,
  realDataEvaluation,
  completionEvaluation,
  translationEvaluation,
  text2imageEvaluation,
];

/** Run every evaluation that applies to the context's model; their metrics, merged. */
export async function evaluateModel(
  context: Omit<EvaluationContext, "noise">,
  evaluations: readonly Evaluation[] = EVALUATIONS,
): Promise<Record<string, MetricValue>> {
  const metrics: Record<string, MetricValue> = {};
  const full: EvaluationContext = {
    ...context,
    // Taken when asked, after the likelihood has drawn from the evaluation stream; a child does
    // not advance its parent, so every later call gives the same stream.
    noise: (name) => context.streams.evaluation.child("extras").child(name),
  };
  for (const evaluation of evaluations) {
    if (evaluation.appliesTo(full)) Object.assign(metrics, await evaluation.run(full));
  }
  return metrics;
}
