/**
 * Metrics from the frozen classifier's p(y|x) on generated samples: the Inception-Score-style
 * score (Salimans et al. 2016, with the MNIST classifier in place of Inception), the entropy
 * of the histogram of predicted classes, and, for class-conditional models, the fraction of
 * samples classified as the label they were drawn for.
 */
import { UsageError } from "../../core/errors.ts";

/** `count` probability vectors over `classes` classes, row-major. */
export interface ClassProbs {
  count: number;
  classes: number;
  probs: Float64Array;
}

function argmax(p: Float64Array, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (p[row * classes + c] > p[row * classes + best]) best = c;
  return best;
}

/**
 * IS = exp(E_x KL(p(y|x) ‖ p(y))) on each of `splits` consecutive splits (p(y) the split's mean
 * prediction), reported as the mean and population std (ddof 0) over splits, as in the
 * original code. Ranges from 1 (every sample predicted alike) to the number of classes
 * (confident predictions, classes balanced).
 */
export function isScore(p: ClassProbs, splits = 10): { mean: number; std: number; splits: number } {
  const { count: n, classes: c, probs } = p;
  if (n < splits) throw new UsageError(`IS: ${n} samples cannot fill ${splits} splits`);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const start = Math.floor((s * n) / splits);
    const end = Math.floor(((s + 1) * n) / splits);
    const marginal = new Float64Array(c);
    for (let i = start; i < end; i++) {
      for (let k = 0; k < c; k++) marginal[k] += probs[i * c + k];
    }
    for (let k = 0; k < c; k++) marginal[k] /= end - start;
    let kl = 0;
    for (let i = start; i < end; i++) {
      for (let k = 0; k < c; k++) {
        const q = probs[i * c + k];
        if (q > 0) kl += q * (Math.log(q) - Math.log(marginal[k]));
      }
    }
    scores.push(Math.exp(kl / (end - start)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits };
}

/** Counts of the predicted (argmax) class of every sample. */
export function classHistogram(p: ClassProbs): number[] {
  const counts = new Array<number>(p.classes).fill(0);
  for (let i = 0; i < p.count; i++) counts[argmax(p.probs, i, p.classes)]++;
  return counts;
}

/**
 * Entropy in nats of the histogram of predicted classes: ln(classes) when the samples spread
 * evenly over the classes, 0 when they all look like one class (mode collapse).
 */
export function classEntropy(p: ClassProbs): number {
  if (p.count < 1) throw new UsageError("class entropy: no samples");
  let h = 0;
  for (const count of classHistogram(p)) {
    if (count > 0) h -= (count / p.count) * Math.log(count / p.count);
  }
  return h;
}

/** Fraction of samples whose predicted class is the label they were generated for. */
export function labelAccuracy(p: ClassProbs, labels: ArrayLike<number>): number {
  if (labels.length !== p.count) {
    throw new Error(`label accuracy: ${labels.length} labels for ${p.count} samples`);
  }
  let correct = 0;
  for (let i = 0; i < p.count; i++) if (argmax(p.probs, i, p.classes) === labels[i]) correct++;
  return correct / p.count;
}
