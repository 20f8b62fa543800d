/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). Each set's manifold is the union of
 * balls around its points, each ball's radius the distance to the point's k-th nearest
 * neighbour in its own set (k = 3 by default, the paper's choice). Precision is the fraction
 * of generated points inside the real manifold (sample quality); recall is the fraction of
 * real points inside the generated manifold (coverage). A point on a ball's boundary counts
 * as inside, as in the reference code (`distance <= radius`). Distances are Euclidean, in
 * float64; neighbours include the point itself (at distance 0), so the k-th neighbour is the
 * (k+1)-th smallest distance, also as in the reference code. The products behind the
 * distances come in blocks of rows from a SIMD kernel (gram.ts), screened so that every
 * decision equals the one from plain sequential sums (see {@link DistanceScreen}).
 */
import { createHash } from "node:crypto";
import { UsageError } from "../../core/errors.ts";
import type { FeatureRows } from "./fid.ts";
import { forEachProductBlock, squaredNorms } from "./gram.ts";

/** The squared distance between row i of x and row j of y: Σ_t (x_t − y_t)², t ascending. */
function squaredDistance(x: Float64Array, i: number, y: Float64Array, j: number, d: number) {
  let sum = 0;
  const oi = i * d;
  const oj = j * d;
  for (let t = 0; t < d; t++) {
    const diff = x[oi + t] - y[oj + t];
    sum += diff * diff;
  }
  return sum;
}

/**
 * Squared distances from dot products: ‖x‖² + ‖y‖² − 2 x·y, fast (the products come from a
 * SIMD kernel) but rounded differently from {@link squaredDistance}. `slack` bounds the
 * difference between the two: (4d + 16)·u·(‖x‖² + ‖y‖²), u = 2⁻⁵³, from the standard bound on
 * a sequential sum of d terms (the sum of squares is at most 2(‖x‖² + ‖y‖²)). Decisions are
 * taken on the fast value when it is farther than the slack from the threshold, else on the
 * sequential sum, so every result equals the one from sequential sums alone.
 */
export class DistanceScreen {
  readonly #factor: number;
  constructor(readonly dim: number) {
    this.#factor = (4 * dim + 16) * 2 ** -53 * 1.01;
  }
  slack(normX: number, normY: number): number {
    return this.#factor * (normX + normY);
  }
}

/**
 * Squared distance of every row to its k-th nearest neighbour in the same set (self included):
 * the (k+1)-th smallest sequential sum {@link squaredDistance}, found by screening with the
 * dot products and summing exactly only the candidates within the slack.
 */
export function kthNeighbourRadii(rows: FeatureRows, k: number): Float64Array {
  const { count: n, dim: d, features: x } = rows;
  if (n <= k) {
    throw new UsageError(`precision/recall: ${n} points cannot have ${k} nearest neighbours`);
  }
  const radii = new Float64Array(n);
  const norms = squaredNorms(rows);
  const screen = new DistanceScreen(d);
  const upper = new Float64Array(k + 1);
  const exact: number[] = [];
  forEachProductBlock(rows, rows, (i0, i1, products) => {
    for (let i = i0; i < i1; i++) {
      const row = (i - i0) * n;
      // The k+1 smallest upper bounds (ascending): the radius is at most the last.
      upper.fill(Infinity);
      for (let j = 0; j < n; j++) {
        const bound = norms[i] + norms[j] - 2 * products[row + j] +
          screen.slack(norms[i], norms[j]);
        if (bound >= upper[k]) continue;
        let p = k;
        while (p > 0 && upper[p - 1] > bound) {
          upper[p] = upper[p - 1];
          p--;
        }
        upper[p] = bound;
      }
      exact.length = 0;
      for (let j = 0; j < n; j++) {
        const low = norms[i] + norms[j] - 2 * products[row + j] - screen.slack(norms[i], norms[j]);
        if (low <= upper[k]) exact.push(squaredDistance(x, i, x, j, d));
      }
      exact.sort((a, b) => a - b);
      radii[i] = exact[k];
    }
  });
  return radii;
}

/**
 * For each row of `query`: whether it lies within the radius of at least one row of
 * `manifold` (a ball's boundary counts as inside); and, for each row of `manifold`, whether
 * at least one row of `query` lies within `queryRadii` of it. One pass of products serves both
 * directions (precision and recall).
 */
function coverageBoth(
  query: FeatureRows,
  manifold: FeatureRows,
  manifoldRadii: Float64Array,
  queryRadii: Float64Array,
): { queryInside: number; manifoldInside: number } {
  const d = query.dim;
  const [qn, mn] = [squaredNorms(query), squaredNorms(manifold)];
  const screen = new DistanceScreen(d);
  const covered = new Uint8Array(manifold.count);
  let queryInside = 0;
  // Is the sequential distance between query i and manifold j at most `radius`?
  const within = (i: number, j: number, fast: number, radius: number) => {
    const slack = screen.slack(qn[i], mn[j]);
    if (fast + slack <= radius) return true;
    if (fast - slack > radius) return false;
    return squaredDistance(query.features, i, manifold.features, j, d) <= radius;
  };
  forEachProductBlock(query, manifold, (i0, i1, products) => {
    for (let i = i0; i < i1; i++) {
      const row = (i - i0) * manifold.count;
      let inside = false;
      for (let j = 0; j < manifold.count; j++) {
        const fast = qn[i] + mn[j] - 2 * products[row + j];
        if (!inside && within(i, j, fast, manifoldRadii[j])) inside = true;
        if (!covered[j] && within(i, j, fast, queryRadii[i])) covered[j] = 1;
      }
      if (inside) queryInside++;
    }
  });
  return { queryInside, manifoldInside: covered.reduce((sum, c) => sum + c, 0) };
}

/** Fraction of rows of `query` within the radius of at least one row of `manifold`. */
export function coverage(query: FeatureRows, manifold: FeatureRows, radii: Float64Array): number {
  const none = new Float64Array(query.count).fill(-Infinity);
  return coverageBoth(query, manifold, radii, none).queryInside / query.count;
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
  const both = coverageBoth(generated, real, realRadii, generatedRadii);
  return {
    precision: both.queryInside / generated.count,
    recall: both.manifoldInside / real.count,
    k,
  };
}
