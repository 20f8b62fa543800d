/** The ops and shapes of the canonical models that bench:micro times one by one. */
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import { conv2dBackpropFilter, conv2dBackpropInput, type ConvPad } from "../core/webgpu/check.ts";

/** The batch size of every timed op and training step. */
export const BATCH = 128;

/** An op to time: inputs are made once; `run` is one call. */
export interface OpCase {
  name: string;
  shapes: number[][];
  gflop: number;
  run(inputs: tf.Tensor[]): tf.Tensor;
}

function conv(
  label: string,
  [b, h, w, c]: number[],
  k: number | [number, number],
  f: number,
  stride: number,
  pad: ConvPad,
  which: ("fwd" | "dx" | "dw")[] = ["fwd", "dx", "dw"],
): OpCase[] {
  const [kh, kw] = typeof k === "number" ? [k, k] : k;
  const x: [number, number, number, number] = [b, h, w, c];
  const filter: [number, number, number, number] = [kh, kw, c, f];
  // Output shape from tfjs's own shape logic (no backend needed).
  const out = backend_util.computeConv2DInfo(x, filter, stride, 1, pad).outShape;
  const gflop = (2 * out[0] * out[1] * out[2] * f * kh * kw * c) / 1e9;
  const cases: OpCase[] = [];
  if (which.includes("fwd")) {
    cases.push({
      name: `conv2d ${label}`,
      shapes: [x, filter],
      gflop,
      run: ([xi, wi]) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, stride, pad),
    });
  }
  if (which.includes("dx")) {
    cases.push({
      name: `conv2dBackpropInput ${label}`,
      shapes: [out, filter],
      gflop,
      run: ([dy, wi]) => conv2dBackpropInput(dy, wi, x, stride, pad),
    });
  }
  if (which.includes("dw")) {
    cases.push({
      name: `conv2dBackpropFilter ${label}`,
      shapes: [x, out],
      gflop,
      run: ([xi, dy]) => conv2dBackpropFilter(xi, dy, filter, stride, pad),
    });
  }
  return cases;
}

function matmul(m: number, k: number, n: number, ta = false, tb = false, note = ""): OpCase {
  return {
    name: `matMul ${m}x${k}·${k}x${n}${ta ? " tA" : ""}${tb ? " tB" : ""}${
      note ? ` (${note})` : ""
    }`,
    shapes: [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]],
    gflop: (2 * m * k * n) / 1e9,
    run: ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb),
  };
}

/** The ops and shapes of the canonical models at batch 128. */
export function opCases(): OpCase[] {
  const B = BATCH;
  return [
    // pixelcnn / gated-pixelcnn: 64-channel 3×3 convolutions, and the same at lower resolution.
    ...conv("3x3 64→64 28x28", [B, 28, 28, 64], 3, 64, 1, "same"),
    ...conv("3x3 64→64 14x14", [B, 14, 14, 64], 3, 64, 1, "same"),
    ...conv("3x3 64→64 7x7", [B, 7, 7, 64], 3, 64, 1, "same"),
    // pixelcnn's masked 7×7 type-A input layer (the rows below the centre dropped) and 1×1 head.
    ...conv("4x7 1→64 28x28", [B, 28, 28, 1], [4, 7], 64, 1, [[0, 0], [3, 0], [3, 3], [0, 0]], [
      "fwd",
      "dw",
    ]),
    ...conv("1x1 64→64 28x28", [B, 28, 28, 64], 1, 64, 1, "same"),
    // vae-conv / dcgan encoders: 4×4 stride 2; their decoders are the transposed convs (dx).
    ...conv("4x4/2 1→32 28x28", [B, 28, 28, 1], 4, 32, 2, "same"),
    ...conv("4x4/2 32→64 14x14", [B, 14, 14, 32], 4, 64, 2, "same"),
    ...conv("4x4/2 64→128 14x14", [B, 14, 14, 64], 4, 128, 2, "same"),
    // MLP models: vae-mlp (784-200-200-50), made (784-500-500-784), gan-mlp.
    matmul(B, 784, 200, false, false, "dense fwd"),
    matmul(B, 200, 784, false, false, "dense fwd"),
    matmul(B, 200, 784, false, true, "dx of 784→200"),
    matmul(784, B, 200, true, false, "dW of 784→200"),
    matmul(200, B, 784, true, false, "dW of 200→784"),
    matmul(B, 784, 500, false, false, "dense fwd"),
    matmul(784, B, 500, true, false, "dW of 784→500"),
    matmul(500, B, 500, true, false, "dW of 500→500"),
    // The filter gradient of a 3×3 64→64 conv written as one GEMM: K = 128·28·28.
    matmul(576, B * 784, 64, false, false, "split-K shape"),
  ];
}
