/** Summary statistics over seeds: mean, sample standard deviation and a Student-t 95% interval. */
// jstat, not @stdlib's t-quantile: @stdlib pulls in debug@2, which lists every environment
// variable at import and so would need unrestricted --allow-env (see README, Permissions).
import jStat from "jstat";

/** Mean, std and 95% confidence interval of a few values (one per seed). */
export interface SeedStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); NaN for one value. */
  std: number;
  /** Half-width of the 95% interval, t(0.975, n − 1) · std / √n; NaN for one value. */
  ci95: number;
}

/** Statistics of `values`, which must not be empty. Non-finite values make the result NaN. */
export function seedStats(values: number[]): SeedStats {
  const n = values.length;
  if (n === 0) throw new Error("seedStats: no values");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, std: NaN, ci95: NaN };
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, std, ci95: jStat.studentt.inv(0.975, n - 1) * std / Math.sqrt(n) };
}
