/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). Each set's manifold is the union of
 * balls around its points, each ball's radius the distance to the point's k-th nearest
 * neighbour in its own set (k = 3 by default, the paper's choice). Precision is the fraction
 * of generated points inside the real manifold (sample quality); recall is the fraction of
 * real points inside the generated manifold (coverage). A point on a ball's boundary counts
 * as inside, as in the reference code (`distance <= radius`). Distances are Euclidean, in
 * float64; neighbours include the point itself (at distance 0), so the k-th neighbour is the
 * (k+1)-th smallest distance, also as in the reference code.
 */
import { createHash } from "node:crypto";
import { UsageError } from "../../core/errors.ts";
import type { FeatureRows } from "./fid.ts";

/** Squared distance between row i of x and row j of y, stopping early once above `bound`. */
function squaredDistance(
  x: Float64Array,
  i: number,
  y: Float64Array,
  j: number,
  d: number,
  bound: number,
): number {
  let sum = 0;
  const oi = i * d;
  const oj = j * d;
  for (let t = 0; t < d; t++) {
    const diff = x[oi + t] - y[oj + t];
    sum += diff * diff;
    if (sum > bound) return sum;
  }
  return sum;
}

/** Squared distance of every row to its k-th nearest neighbour in the same set (self included). */
export function kthNeighbourRadii(rows: FeatureRows, k: number): Float64Array {
  const { count: n, dim: d, features: x } = rows;
  if (n <= k) {
    throw new UsageError(`precision/recall: ${n} points cannot have ${k} nearest neighbours`);
  }
  const radii = new Float64Array(n);
  // The k+1 smallest squared distances seen so far, ascending (self, at 0, is one of them).
  const best = new Float64Array(k + 1);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      const dist = squaredDistance(x, i, x, j, d, best[k]);
      if (dist >= best[k]) continue;
      let p = k;
      while (p > 0 && best[p - 1] > dist) {
        best[p] = best[p - 1];
        p--;
      }
      best[p] = dist;
    }
    radii[i] = best[k];
  }
  return radii;
}

/** Fraction of rows of `query` within the radius of at least one row of `manifold`. */
export function coverage(query: FeatureRows, manifold: FeatureRows, radii: Float64Array): number {
  const d = query.dim;
  let inside = 0;
  for (let i = 0; i < query.count; i++) {
    for (let j = 0; j < manifold.count; j++) {
      if (squaredDistance(query.features, i, manifold.features, j, d, radii[j]) <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / query.count;
}

// The real set's radii are the costly half and the same for every model scored against one
// test set: keep the last few, keyed by the features' bytes.
const radiiCache = new Map<string, Float64Array>();

function cachedRadii(rows: FeatureRows, k: number): Float64Array {
  const bytes = new Uint8Array(
    rows.features.buffer,
    rows.features.byteOffset,
    rows.count * rows.dim * 8,
  );
  const key = `${rows.count}/${rows.dim}/${k}/${createHash("sha256").update(bytes).digest("hex")}`;
  let radii = radiiCache.get(key);
  if (!radii) {
    radii = kthNeighbourRadii(rows, k);
    if (radiiCache.size >= 4) radiiCache.delete(radiiCache.keys().next().value!);
    radiiCache.set(key, radii);
  }
  return radii;
}

/** Improved precision and recall of `generated` against `real`, with k-th neighbour radii. */
export function precisionRecall(
  real: FeatureRows,
  generated: FeatureRows,
  k = 3,
): { precision: number; recall: number; k: number } {
  if (real.dim !== generated.dim) {
    throw new Error(`precision/recall: feature widths differ (${real.dim} vs ${generated.dim})`);
  }
  const realRadii = cachedRadii(real, k);
  const generatedRadii = kthNeighbourRadii(generated, k);
  return {
    precision: coverage(generated, real, realRadii),
    recall: coverage(real, generated, generatedRadii),
    k,
  };
}
