import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import {
  type FeatureRows,
  fid,
  frechetDistance,
  type GaussianStats,
  gaussianStats,
  traceSqrtProduct,
} from "../../metrics/features/fid.ts";
import { join } from "node:path";
import { parseIdx } from "../../datasets/idx.ts";
import { MNIST_FILES, packagedMnistDir } from "../../datasets/mnist.ts";

/** n draws of N(mean, diag(variances)). */
function diagonalGaussian(n: number, mean: number[], variances: number[], s: Stream): FeatureRows {
  const d = mean.length;
  const features = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      features[i * d + j] = mean[j] + Math.sqrt(variances[j]) * s.normal();
    }
  }
  return { count: n, dim: d, features };
}

/** A random d×d rotation (Gram–Schmidt on Gaussian columns), row-major. */
function rotation(d: number, s: Stream): number[][] {
  const q: number[][] = [];
  for (let c = 0; c < d; c++) {
    let v = Array.from({ length: d }, () => s.normal());
    for (const u of q) {
      const dot = v.reduce((a, x, i) => a + x * u[i], 0);
      v = v.map((x, i) => x - dot * u[i]);
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  return q; // rows are orthonormal vectors
}

/** Stats with covariance Qᵀ diag(values) Q. */
function statsOf(mean: number[], q: number[][], values: number[]): GaussianStats {
  const d = mean.length;
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += q[k][a] * values[k] * q[k][b];
      cov[a * d + b] = sum;
    }
  }
  return { count: 1000, dim: d, mean: Float64Array.from(mean), cov };
}

Deno.test("gaussianStats: mean and unbiased (N−1) covariance of a hand-worked case", () => {
  // Rows (1,2), (3,6), (5,7): mean (3,5); centred (−2,−3), (0,1), (2,2).
  const stats = gaussianStats({
    count: 3,
    dim: 2,
    features: Float64Array.from([1, 2, 3, 6, 5, 7]),
  });
  assert.deepEqual([...stats.mean], [3, 5]);
  // Σ = [[4+0+4, 6+0+4], [10, 9+1+4]] / 2.
  assert.deepEqual([...stats.cov], [4, 5, 5, 7]);
});

Deno.test("FD: commuting covariances match the closed form Σ(√a − √b)² + ‖Δμ‖² to 1e-8 relative", () => {
  const s = Stream.derive(1, "fid-commuting");
  for (const d of [3, 20, 84]) {
    const q = rotation(d, s);
    const a = Array.from({ length: d }, () => 0.1 + 5 * s.uniform());
    const b = Array.from({ length: d }, () => 0.1 + 5 * s.uniform());
    const mu1 = Array.from({ length: d }, () => s.normal());
    const mu2 = Array.from({ length: d }, () => s.normal());
    let expected = 0;
    for (let j = 0; j < d; j++) {
      expected += (Math.sqrt(a[j]) - Math.sqrt(b[j])) ** 2 + (mu1[j] - mu2[j]) ** 2;
    }
    const got = frechetDistance(statsOf(mu1, q, a), statsOf(mu2, q, b));
    assert.ok(Math.abs(got - expected) <= 1e-8 * expected, `d=${d}: ${got} vs ${expected}`);
  }
});

Deno.test("FD: non-commuting 2×2 covariances match tr√M = √(tr Σ₁Σ₂ + 2√(det Σ₁ det Σ₂))", () => {
  // For 2×2 PSD M with eigenvalues λ₁, λ₂: (√λ₁ + √λ₂)² = tr M + 2√det M; Σ₁^½Σ₂Σ₁^½ has
  // the trace and determinant of Σ₁Σ₂.
  const s1 = [[2, 0.7], [0.7, 1]];
  const s2 = [[0.5, -0.3], [-0.3, 3]];
  const tr12 = s1[0][0] * s2[0][0] + s1[0][1] * s2[1][0] + s1[1][0] * s2[0][1] +
    s1[1][1] * s2[1][1];
  const det = (m: number[][]) => m[0][0] * m[1][1] - m[0][1] * m[1][0];
  const trSqrt = Math.sqrt(tr12 + 2 * Math.sqrt(det(s1) * det(s2)));
  const expected = 1 ** 2 + 2 ** 2 + (2 + 1) + (0.5 + 3) - 2 * trSqrt;
  const stats = (mean: number[], m: number[][]): GaussianStats => ({
    count: 100,
    dim: 2,
    mean: Float64Array.from(mean),
    cov: Float64Array.from(m.flat()),
  });
  const got = frechetDistance(stats([0, 0], s1), stats([1, -2], s2));
  assert.ok(Math.abs(got - expected) <= 1e-10 * expected, `${got} vs ${expected}`);
});

Deno.test("FID: converges to the closed form for two Gaussians at 10k samples each", () => {
  const s = Stream.derive(1, "fid-sampled");
  const mu1 = [0, 0, 0, 0];
  const mu2 = [0.5, 0, -0.25, 0];
  const v1 = [1, 2, 0.5, 1];
  const v2 = [2, 1, 0.5, 4];
  let expected = 0;
  for (let j = 0; j < 4; j++) {
    expected += (mu1[j] - mu2[j]) ** 2 + v1[j] + v2[j] - 2 * Math.sqrt(v1[j] * v2[j]);
  }
  const errors: number[] = [];
  for (const n of [1_000, 10_000, 100_000]) {
    const got = fid(diagonalGaussian(n, mu1, v1, s), diagonalGaussian(n, mu2, v2, s));
    errors.push(Math.abs(got - expected));
    console.log(`FID at ${n} vs ${n}: ${got.toFixed(4)} (closed form ${expected.toFixed(4)})`);
  }
  // Measured errors: 0.031 at 1k, 0.060 at 10k, 0.023 at 100k. The sampling std at 10k is
  // ~0.03 (mostly 2‖Δμ‖·std(μ̂)); allow ~4σ at 10k and ~4σ at 100k.
  assert.ok(errors[1] < 0.12, `error at 10k: ${errors[1]}`);
  assert.ok(errors[2] < 0.04, `error at 100k: ${errors[2]}`);
});

Deno.test("FID: FID(X, X) = 0 within 1e-9, symmetric, and invariant to row order", () => {
  const s = Stream.derive(1, "fid-properties");
  const d = 30;
  // Correlated features: x = A z with a random A.
  const make = (n: number, shift: number): FeatureRows => {
    const a = Array.from({ length: d * d }, () => s.normal() / Math.sqrt(d));
    const features = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: d }, () => s.normal());
      for (let r = 0; r < d; r++) {
        let v = shift;
        for (let c = 0; c < d; c++) v += a[r * d + c] * z[c];
        features[i * d + r] = 3 * v;
      }
    }
    return { count: n, dim: d, features };
  };
  const x = make(500, 0);
  const y = make(400, 0.2);
  assert.ok(fid(x, x) <= 1e-9, `FID(X,X) = ${fid(x, x)}`);
  const xy = fid(x, y);
  assert.ok(xy > 1);
  assert.ok(Math.abs(xy - fid(y, x)) <= 1e-9 * xy, `${xy} vs ${fid(y, x)}`);
  const order = s.permutation(x.count);
  const shuffled = new Float64Array(x.features.length);
  order.forEach((from, to) => shuffled.set(x.features.subarray(from * d, (from + 1) * d), to * d));
  const again = fid({ count: x.count, dim: d, features: shuffled }, y);
  assert.ok(Math.abs(again - xy) <= 1e-9 * xy, `${again} vs ${xy}`);
});

Deno.test("FID: refuses fewer samples than feature dimensions + 1, in one line", () => {
  const rows: FeatureRows = { count: 84, dim: 84, features: new Float64Array(84 * 84) };
  assert.throws(() => gaussianStats(rows), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /84 features cannot give a full-rank covariance of 84-d/);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
});

Deno.test("FID: equals scipy's (sqrtm, pytorch-fid's formula) to 1e-6 relative on a fixture", () => {
  // tests/metrics/fixtures/fid_scipy.json: 60 and 70 rows of 8 correlated features and the
  // FID scipy.linalg.sqrtm gives for them (made with numpy/scipy, not needed to run this).
  const fixture = JSON.parse(
    Deno.readTextFileSync(new URL("./fixtures/fid_scipy.json", import.meta.url)),
  );
  const rowsOf = (values: number[]) => ({
    count: values.length / fixture.dim,
    dim: fixture.dim,
    features: Float64Array.from(values),
  });
  const [a, b] = [rowsOf(fixture.a), rowsOf(fixture.b)];
  for (const [got, want] of [[fid(a, b), fixture.fidScipy], [fid(b, a), fixture.fidScipyBA]]) {
    assert.ok(Math.abs(got - want) <= 1e-6 * want, `${got} vs scipy ${want}`);
  }
});

Deno.test("FD: singular commuting covariances (constant features, as MNIST's border) match the closed form", () => {
  // tr √(Σ₁Σ₂) = Σ √(aⱼbⱼ) for Σ₁ = Qᵀ diag(a) Q, Σ₂ = Qᵀ diag(b) Q; here with exact zeros in
  // a and b (in different places) and tiny variances, first with Q = I (features constant
  // in one set or both), then in a rotated basis (rank-deficient, not axis-aligned).
  const s = Stream.derive(1, "fid-singular");
  const d = 150;
  const a = Array.from(
    { length: d },
    (_, j) => j % 7 === 0 ? 0 : j % 5 === 0 ? 1e-7 : 3 * s.uniform(),
  );
  const b = Array.from({ length: d }, (_, j) => j % 11 === 0 ? 0 : 3 * s.uniform());
  const mu1 = Array.from({ length: d }, () => s.normal());
  const mu2 = Array.from({ length: d }, () => s.normal());
  let expected = 0;
  for (let j = 0; j < d; j++) {
    expected += (Math.sqrt(a[j]) - Math.sqrt(b[j])) ** 2 + (mu1[j] - mu2[j]) ** 2;
  }
  const identity = Array.from(
    { length: d },
    (_, i) => Array.from({ length: d }, (_, j) => +(i === j)),
  );
  const diagonal = frechetDistance(statsOf(mu1, identity, a), statsOf(mu2, identity, b));
  assert.ok(Math.abs(diagonal - expected) <= 1e-12 * expected, `${diagonal} vs ${expected}`);
  const q = rotation(d, s);
  const rotated = frechetDistance(statsOf(mu1, q, a), statsOf(mu2, q, b));
  assert.ok(Math.abs(rotated - expected) <= 1e-8 * expected, `rotated: ${rotated} vs ${expected}`);
});

Deno.test("FID: equals scipy's on MNIST pixels (singular covariances) to 1e-6; FD(X, X) = 0 within 1e-9", async () => {
  // tests/metrics/fixtures/fid_scipy_mnist.json: scipy's FID between the first 1,000 training
  // and the first 1,000 test images as 784 pixel features; ~100 border pixels are constant and
  // many others nearly so, so both covariances are singular.
  const fixture = JSON.parse(
    Deno.readTextFileSync(new URL("./fixtures/fid_scipy_mnist.json", import.meta.url)),
  );
  const pixels = async (name: string): Promise<FeatureRows> => {
    const idx = parseIdx(await Deno.readFile(join(packagedMnistDir(), name)), name);
    const n = fixture.count;
    const grey = new Float32Array(n * 784);
    for (let i = 0; i < grey.length; i++) grey[i] = idx.data[i] / 255;
    return { count: n, dim: 784, features: Float64Array.from(grey) };
  };
  const a = await pixels(MNIST_FILES.trainImages);
  const b = await pixels(MNIST_FILES.testImages);
  for (const [got, want] of [[fid(a, b), fixture.fidScipy], [fid(b, a), fixture.fidScipyBA]]) {
    assert.ok(Math.abs(got - want) <= 1e-6 * want, `${got} vs scipy ${want}`);
  }
  const stats = gaussianStats(a);
  let trace = 0;
  for (let j = 0; j < 784; j++) trace += stats.cov[j * 785];
  const raw = 2 * trace - 2 * traceSqrtProduct(stats.cov, stats.cov, 784);
  assert.ok(Math.abs(raw) <= 1e-9, `unclipped FD(X, X) = ${raw} on MNIST pixels`);
});
