/**
 * BatchMatMul for tfjs-webgpu when there is one matrix pair (the dense layers of every MLP
 * model and their gradients). tfjs picks a split-K program with float atomics for a large
 * inner dimension and a small output, whose summation order changes run to run; ours splits K
 * too but sums the partial products in a fixed order ({@link runGemm}).
 */
import { util } from "@tensorflow/tfjs-core";
import type { KernelFunc } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { gemmFits, type GemmSpec, runGemm } from "./gemm.ts";
import type { KernelArgs } from "./conv.ts";

/** The GEMM spec of a·b with optional transposes (a: [M,K] or [K,M], b: [K,N] or [N,K]). */
export function matMulSpec(
  M: number,
  N: number,
  K: number,
  transposeA: boolean,
  transposeB: boolean,
): GemmSpec {
  return {
    M,
    N,
    K,
    inputs: ["aIn", "bIn"],
    loadA: transposeA ? `  return aIn[k * ${M} + m];` : `  return aIn[m * ${K} + k];`,
    loadB: transposeB ? `  return bIn[n * ${K} + k];` : `  return bIn[k * ${N} + n];`,
    orderA: transposeA ? "mn" : "k",
    key: `mm_${transposeA ? "t" : "n"}${transposeB ? "t" : "n"}`,
  };
}

/** BatchMatMul kernel: ours for a single float32 matrix pair, tfjs's otherwise. */
export function batchMatMulKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const ra = a.shape.length, rb = b.shape.length;
    const single = util.sizeFromShape(a.shape.slice(0, -2)) === 1 &&
      util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    if (!single || a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const KB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    if (K !== KB || !gemmFits(M, N) || M * N === 0) return stock(args);
    const outer = ra >= rb ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    if (K === 0) return stock(args);
    return runGemm(
      backend as WebGPUBackend,
      matMulSpec(M, N, K, transposeA, transposeB),
      [a, b],
      [...outer, M, N],
    );
  };
}
