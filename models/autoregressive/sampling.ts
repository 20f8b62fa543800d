/**
 * What NADE's and MADE's samplers share: the choice between the host loop (cpu, wasm: tfjs's
 * per-op overhead would dominate a pixel-by-pixel loop there) and the tensor loop (GPU
 * backends), and the per-pixel thresholds both draw in the same order.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Stream } from "../../core/rng.ts";

/** Whether the current backend runs pixel-by-pixel loops faster on the host. */
export function samplesOnHost(): boolean {
  const backend = tf.getBackend();
  return backend === "cpu" || backend === "wasm";
}

/**
 * Thresholds [D, n] (pixel-major) of `n` samples: the logit of a uniform draw, log u − log(1 − u),
 * so that pixel d of sample s is 1 where its logit exceeds thresholds[d·n + s], with
 * probability σ(logit). Same draws, same order as `pixelUniforms(noise, dims, n, true)`.
 */
export function logisticThresholds(noise: Stream, dims: number, n: number): Float32Array {
  const thresholds = new Float32Array(dims * n);
  for (let i = 0; i < thresholds.length; i++) {
    const u = noise.uniform();
    thresholds[i] = Math.log(u) - Math.log1p(-u);
  }
  return thresholds;
}

/** `n` samples on the host or by tensor ops, whichever suits the backend. */
export function sampleOnBackend(
  host: () => Float32Array,
  tensor: () => Promise<Float32Array>,
): Promise<Float32Array> {
  return samplesOnHost() ? Promise.resolve(host()) : tensor();
}
