/**
 * NADE — the Neural Autoregressive Distribution Estimator (Larochelle & Murray, AISTATS 2011,
 * "The Neural Autoregressive Distribution Estimator"). Binarized MNIST test NLL 88.33–88.86
 * nats with 500 sigmoid hidden units (REFERENCE.md; Uria et al. 2016 report 88.35).
 *
 * p(x) = Π_d p(x_d | x_<d) with h_d = σ(c + W_<d x_<d) and p(x_d = 1 | x_<d) = σ(b_d + V_d·h_d).
 * The encoder weights W are tied across all conditionals, so the pre-activations of every d
 * are one exclusive cumulative sum over d of x_d·W_d: the teacher-forced pass is O(D·H), not D
 * separate passes. Sampling keeps the running pre-activation and adds one row of W per pixel.
 * Parameters at 784 pixels and 500 hidden units: 785,284.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";
import { dimOf } from "../../datasets/dataset.ts";
import type { GenerativeModel, ModelArgs, ModelSpec } from "../model.ts";
import {
  bernoulliLogLikelihood,
  glorotLimit,
  uniformVariable,
  zerosVariable,
} from "../layers/nn.ts";
import {
  bitsOption,
  checkWidth,
  type CustomGradient,
  drawPixel,
  intOption,
  pixelUniforms,
  positiveOption,
  replace,
} from "./shared.ts";

/** NADE with tied weights: W [D, H] (encoder), c [H], V [D, H] (decoder), b [D]. */
export class Nade implements GenerativeModel {
  readonly W: tf.Variable;
  readonly c: tf.Variable;
  readonly V: tf.Variable;
  readonly b: tf.Variable;
  readonly #optimizer: tf.Optimizer;

  constructor(readonly dims: number, readonly hidden: number, learningRate: number, init: Stream) {
    this.W = uniformVariable([dims, hidden], glorotLimit(dims, hidden), init);
    this.c = zerosVariable([hidden]);
    this.V = uniformVariable([dims, hidden], glorotLimit(hidden, dims), init);
    this.b = zerosVariable([dims]);
    this.#optimizer = tf.train.adam(learningRate);
  }

  /**
   * The logits of p(x_d = 1 | x_<d) for every d, teacher-forced: [B, D]. On the `cpu` and `wasm`
   * backends this is {@link Nade.hostLogits} (same O(D·H) algorithm as one fused host loop: the
   * tensor form's [B, H, D] broadcasts take tfjs-cpu's slow generic path, ~50× slower).
   */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    const backend = tf.getBackend();
    return backend === "cpu" || backend === "wasm" ? this.hostLogits(x) : this.tensorLogits(x);
  }

  /** {@link Nade.logits} with tfjs ops: an exclusive cumulative sum over d. */
  tensorLogits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [batch, dims] = x.shape;
      // a[:, :, d] = c + Σ_{j<d} x_j W_j: an exclusive cumulative sum over d of x_d W_d, laid
      // out [B, H, D] because tfjs 4.22's cumsum gradient is wrong on any axis but the last.
      const contributions = tf.mul(tf.reshape(x, [batch, 1, dims]), tf.transpose(this.W));
      const pre = tf.add(tf.cumsum(contributions, 2, true), tf.reshape(this.c, [-1, 1]));
      const h = tf.sigmoid(pre);
      return tf.add(tf.sum(tf.mul(h, tf.transpose(this.V)), 1), this.b) as tf.Tensor2D;
    });
  }

  /**
   * {@link Nade.logits} computed on the host, forward and backward, in float64 accumulators:
   * forward keeps the running pre-activation a = c + Σ_{j<d} x_j W_j; backward walks d down,
   * recovering a by subtraction, and accumulates Σ_{d'>d} ∂L/∂a_{d'} for the W gradient.
   */
  hostLogits(x: tf.Tensor2D): tf.Tensor2D {
    const [dims, hidden] = [this.dims, this.hidden];
    const op = tf.customGrad(
      ((
        input: tf.Tensor,
        W: tf.Tensor,
        c: tf.Tensor,
        V: tf.Tensor,
        b: tf.Tensor,
        save: tf.GradSaveFunc,
      ) => {
        save([input, W, c, V, b]);
        const batch = input.shape[0];
        const [xv, wv, cv, vv, bv] = [input, W, c, V, b].map((t) => t.dataSync() as Float32Array);
        const out = new Float32Array(batch * dims);
        const a = new Float64Array(hidden);
        for (let n = 0; n < batch; n++) {
          for (let k = 0; k < hidden; k++) a[k] = cv[k];
          for (let d = 0; d < dims; d++) {
            let logit = bv[d];
            const row = d * hidden;
            for (let k = 0; k < hidden; k++) logit += vv[row + k] / (1 + Math.exp(-a[k]));
            out[n * dims + d] = logit;
            const xd = xv[n * dims + d];
            if (xd !== 0) { for (let k = 0; k < hidden; k++) a[k] += xd * wv[row + k]; }
          }
        }
        return {
          value: tf.tensor2d(out, [batch, dims]),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const g = dy.dataSync() as Float32Array;
            const [xs, Ws, cs, Vs] = saved.map((t) => t.dataSync() as Float32Array);
            const [dW, dV] = [new Float64Array(dims * hidden), new Float64Array(dims * hidden)];
            const [dc, db] = [new Float64Array(hidden), new Float64Array(dims)];
            const pre = new Float64Array(hidden);
            const later = new Float64Array(hidden);
            for (let n = 0; n < batch; n++) {
              for (let k = 0; k < hidden; k++) [pre[k], later[k]] = [cs[k], 0];
              for (let d = 0; d < dims; d++) {
                const xd = xs[n * dims + d];
                if (xd !== 0) {
                  for (let k = 0; k < hidden; k++) {
                    pre[k] += xd * Ws[d * hidden + k];
                  }
                }
              }
              for (let d = dims - 1; d >= 0; d--) {
                const row = d * hidden;
                const xd = xs[n * dims + d];
                if (xd !== 0) {
                  for (let k = 0; k < hidden; k++) {
                    pre[k] -= xd * Ws[row + k];
                    dW[row + k] += xd * later[k];
                  }
                }
                const gd = g[n * dims + d];
                db[d] += gd;
                if (gd === 0) continue;
                for (let k = 0; k < hidden; k++) {
                  const h = 1 / (1 + Math.exp(-pre[k]));
                  dV[row + k] += gd * h;
                  const da = gd * Vs[row + k] * h * (1 - h);
                  later[k] += da;
                  dc[k] += da;
                }
              }
            }
            return [
              tf.zerosLike(saved[0]),
              tf.tensor2d(Float32Array.from(dW), [dims, hidden]),
              tf.tensor1d(Float32Array.from(dc)),
              tf.tensor2d(Float32Array.from(dV), [dims, hidden]),
              tf.tensor1d(Float32Array.from(db)),
            ];
          },
        };
      }) as unknown as CustomGradient,
    );
    return op(x, this.W, this.c, this.V, this.b) as tf.Tensor2D;
  }

  logProb(x: tf.Tensor2D): tf.Tensor1D {
    checkWidth("nade", x, this.dims);
    return tf.tidy(() => bernoulliLogLikelihood(this.logits(x), x));
  }

  trainStep(batch: tf.Tensor2D): Record<string, tf.Scalar> {
    checkWidth("nade", batch, this.dims);
    const loss = this.#optimizer.minimize(
      () => tf.neg(tf.mean(bernoulliLogLikelihood(this.logits(batch), batch))),
      true,
      [this.W, this.c, this.V, this.b],
    ) as tf.Scalar;
    return { nll: loss };
  }

  /**
   * `n` samples, pixel by pixel, keeping the running pre-activation. On the `cpu` and `wasm`
   * backends the loop runs on the host (tfjs's per-op overhead dominates there otherwise).
   */
  sample(n: number, noise: Stream): Promise<Float32Array> {
    const backend = tf.getBackend();
    return backend === "cpu" || backend === "wasm"
      ? Promise.resolve(this.hostSample(n, noise))
      : this.tensorSample(n, noise);
  }

  /** {@link Nade.sample} on the host; draws the same uniforms in the same order. */
  hostSample(n: number, noise: Stream): Float32Array {
    const [dims, hidden] = [this.dims, this.hidden];
    const thresholds = new Float32Array(dims * n);
    for (let i = 0; i < thresholds.length; i++) {
      const u = noise.uniform();
      thresholds[i] = Math.log(u) - Math.log1p(-u);
    }
    const [wv, cv, vv, bv] = [this.W, this.c, this.V, this.b].map((t) =>
      t.dataSync() as Float32Array
    );
    const out = new Float32Array(n * dims);
    const a = new Float64Array(hidden);
    const h = new Float64Array(hidden);
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < hidden; k++) a[k] = cv[k];
      for (let d = 0; d < dims; d++) {
        const row = d * hidden;
        let logit = bv[d];
        for (let k = 0; k < hidden; k++) {
          h[k] = 1 / (1 + Math.exp(-a[k]));
          logit += vv[row + k] * h[k];
        }
        if (logit > thresholds[d * n + s]) {
          out[s * dims + d] = 1;
          for (let k = 0; k < hidden; k++) a[k] += wv[row + k];
        }
      }
    }
    return out;
  }

  /** {@link Nade.sample} with tfjs ops, all samples at once (for GPU backends). */
  async tensorSample(n: number, noise: Stream): Promise<Float32Array> {
    const thresholds = pixelUniforms(noise, this.dims, n, true);
    const columns: tf.Tensor2D[] = [];
    let pre: tf.Tensor2D = tf.tidy(() => tf.tile(tf.reshape(this.c, [1, -1]), [n, 1]));
    try {
      const wRows = tf.unstack(this.W) as tf.Tensor1D[];
      const vRows = tf.unstack(this.V) as tf.Tensor1D[];
      const thresholdRows = tf.split(thresholds, this.dims, 0) as tf.Tensor2D[];
      const bias = tf.split(this.b, this.dims) as tf.Tensor1D[];
      for (let d = 0; d < this.dims; d++) {
        const x = tf.tidy(() => {
          const logit = tf.add(
            tf.matMul(tf.sigmoid(pre), tf.reshape(vRows[d], [-1, 1])),
            bias[d],
          ) as tf.Tensor2D;
          return drawPixel(logit, thresholdRows[d], 2);
        });
        columns.push(x);
        // Only the running pre-activation changes: one rank-1 update per pixel.
        pre = replace(pre, tf.tidy(() => tf.add(pre, tf.mul(x, wRows[d]))));
      }
      tf.dispose([wRows, vRows, thresholdRows, bias]);
      const samples = tf.concat(columns, 1);
      try {
        return await samples.data() as Float32Array;
      } finally {
        samples.dispose();
      }
    } finally {
      tf.dispose([thresholds, pre, ...columns]);
    }
  }

  weights(): Map<string, tf.Variable> {
    return new Map([["W", this.W], ["c", this.c], ["V", this.V], ["b", this.b]]);
  }

  optimizers(): tf.Optimizer[] {
    return [this.#optimizer];
  }

  dispose(): void {
    tf.dispose([this.W, this.c, this.V, this.b]);
    this.#optimizer.dispose();
  }
}

/** The `nade` model: options `hidden` (500), `batchSize`, `learningRate` (Adam). */
export const nadeSpec: ModelSpec = {
  name: "nade",
  family: "autoregressive",
  description: "NADE (Larochelle & Murray 2011): 500 sigmoid hidden units, tied weights, exact NLL",
  capabilities: ["sample", "exact-likelihood"],
  input: "binary",
  defaults: { hidden: 500, batchSize: 128, learningRate: 1e-3, bits: 1 },
  create({ shape, options, init }: ModelArgs): Nade {
    bitsOption("nade", options, [1]);
    return new Nade(
      dimOf(shape),
      intOption("nade", options, "hidden"),
      positiveOption("nade", options, "learningRate"),
      init,
    );
  },
};
