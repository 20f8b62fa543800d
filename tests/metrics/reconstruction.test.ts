import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import {
  activeUnits,
  bcePerImage,
  gaussianWindow,
  klPerDim,
  msePerImage,
  psnrPerImage,
  ssim,
  ssimPerImage,
} from "../../metrics/reconstruction.ts";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("BCE, MSE and PSNR match hand computations", () => {
  const bce = bcePerImage([1, 0, 0, 1], [0.8, 0.3, 0.5, 0.5], 2);
  close(bce[0], -(Math.log(0.8) + Math.log(0.7)));
  close(bce[1], 2 * Math.LN2);
  const zeros = new Float32Array(16);
  const tenth = new Float32Array(16).fill(0.1);
  close(msePerImage(zeros, tenth, 16)[0], 0.01, 1e-8);
  // MSE 0.01 at data range 1 is exactly 20 dB; 8-bit range 255 with MSE 0.01 is 20 + 20·log10(255).
  close(psnrPerImage(zeros, tenth, 16)[0], 20, 1e-5);
  close(psnrPerImage(zeros, tenth, 16, 255)[0], 20 + 20 * Math.log10(255), 1e-5);
  assert.equal(psnrPerImage(tenth, tenth, 16)[0], Infinity);
});

Deno.test("SSIM(x, x) = 1 and SSIM of constant images is the luminance formula", () => {
  const s = Stream.derive(1, "ssim");
  const x = s.uniformArray(28 * 28);
  close(ssim(x, x, 28, 28), 1, 1e-12);
  // Constant images a and b: every σ is 0, so SSIM = (2ab + C1) / (a² + b² + C1).
  const c1 = 0.01 ** 2;
  const a = new Float32Array(144).fill(0.25);
  const b = new Float32Array(144).fill(0.75);
  close(ssim(a, b, 12, 12), (2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1), 1e-7);
});

Deno.test("SSIM equals a brute-force 2-D Gaussian-window computation", () => {
  // An independent implementation: the 2-D window from the formula exp(−r²/2σ²), statistics
  // summed directly over each valid 11×11 window, constants C1 = (0.01)², C2 = (0.03)².
  const s = Stream.derive(2, "ssim");
  const [h, w] = [14, 13];
  const x = s.uniformArray(h * w);
  const y = x.map((v) => Math.min(1, Math.max(0, 0.7 * v + 0.2 + 0.1 * s.normal())));
  const weights: number[] = [];
  for (let i = 0; i < 11; i++) {
    for (let j = 0; j < 11; j++) weights.push(Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / 4.5));
  }
  const norm = weights.reduce((p, q) => p + q, 0);
  let total = 0;
  let windows = 0;
  for (let oy = 0; oy + 11 <= h; oy++) {
    for (let ox = 0; ox + 11 <= w; ox++) {
      let [mx, my, xx, yy, xy] = [0, 0, 0, 0, 0];
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const g = weights[i * 11 + j] / norm;
          const p = x[(oy + i) * w + ox + j];
          const q = y[(oy + i) * w + ox + j];
          mx += g * p;
          my += g * q;
          xx += g * p * p;
          yy += g * q * q;
          xy += g * p * q;
        }
      }
      const [c1, c2] = [1e-4, 9e-4];
      total += ((2 * mx * my + c1) * (2 * (xy - mx * my) + c2)) /
        ((mx * mx + my * my + c1) * (xx - mx * mx + yy - my * my + c2));
      windows++;
    }
  }
  assert.equal(windows, 4 * 3);
  close(ssim(x, y, h, w), total / windows, 1e-9);
  const value = ssim(x, y, h, w);
  assert.ok(value > 0 && value < 1);
  // Per-image over a batch of two images of one channel.
  const both = ssimPerImage(
    Float32Array.of(...x, ...x),
    Float32Array.of(...y, ...x),
    { height: h, width: w, channels: 1 },
  );
  close(both[0], value, 1e-12);
  close(both[1], 1, 1e-12);
});

Deno.test("Gaussian window is normalised and symmetric", () => {
  const g = gaussianWindow(11, 1.5);
  close(g.reduce((a, b) => a + b, 0), 1, 1e-12);
  close(g[0], g[10], 1e-15);
  close(g[5] / g[4], Math.exp(1 / 4.5), 1e-12);
});

Deno.test("KL per dimension and active units match hand computations", () => {
  // Two examples, two dims. Dim 0: μ = ±1, σ² = 1 → KL ½ each. Dim 1: μ = 0, log σ² = −1.
  const mean = [1, 0, -1, 0];
  const logVar = [0, -1, 0, -1];
  const kl = klPerDim(mean, logVar, 2);
  close(kl[0], 0.5);
  close(kl[1], 0.5 * (Math.exp(-1) - 1 + 1));
  // Dim 0 varies across examples (variance 1), dim 1 does not (0): one active unit.
  const active = activeUnits(mean, 2);
  assert.equal(active.count, 1);
  close(active.variance[0], 1);
  close(active.variance[1], 0);
  // Threshold is strict at 0.01: variance 0.0121 counts, 0.0081 does not.
  assert.equal(activeUnits([0.11, 0.09, -0.11, -0.09], 2).count, 1);
});
