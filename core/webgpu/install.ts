/**
 * Registers genbench's own WebGPU kernels over tfjs-webgpu's (`tf.registerKernel`). Each of
 * ours keeps a handle on the stock kernel and hands it the cases it does not cover. Also routes
 * `tf.train.adam`'s update to a fused kernel on webgpu (core/webgpu/adam.ts). Install
 * after `@tensorflow/tfjs-backend-webgpu` has been imported; `uninstallWebGpuKernels` puts the
 * stock kernels back (the micro-benchmark compares the two). Also registers the fused dense
 * layer (core/webgpu/dense.ts), which models reach through `dense()`, and a gradient of `Sum`
 * that uploads nothing (core/webgpu/sum_grad.ts; gradients are global and stay registered).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc } from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterKernel, conv2dBackpropInputKernel, conv2dKernel } from "./conv.ts";
import { batchMatMulKernel } from "./matmul.ts";
import { addNKernel } from "./add_n.ts";
import { castKernel } from "./cast.ts";
import { setTileMode, type TileMode } from "./gemm.ts";
import { installFusedAdam, uninstallFusedAdam } from "./adam.ts";
import { installFusedDense, uninstallFusedDense } from "./dense.ts";
import { watchPipelines } from "./tap.ts";
import { registerSumGradient } from "./sum_grad.ts";

/** The kernels we replace, each with the factory that wraps the stock one. */
const OURS: [string, (stock: KernelFunc) => KernelFunc][] = [
  ["Conv2D", conv2dKernel],
  ["Conv2DBackpropInput", conv2dBackpropInputKernel],
  ["Conv2DBackpropFilter", conv2dBackpropFilterKernel],
  ["BatchMatMul", batchMatMulKernel],
  // Not for speed: the stock AddN is wrong past the adapter's storage-buffer limit.
  ["AddN", addNKernel],
  // Not for speed: the stock Cast relabels int32 and bool buffers as float32 unconverted.
  ["Cast", castKernel],
];

const stockConfigs = new Map<string, KernelConfig>();

/** The names of the kernels genbench replaces on the webgpu backend. */
export const GENBENCH_WEBGPU_KERNELS: readonly string[] = OURS.map(([name]) => name);

/** Whether our kernels are registered now. */
export function webGpuKernelsInstalled(): boolean {
  return stockConfigs.size > 0;
}

/**
 * Register our kernels for the `webgpu` backend (idempotent). `tiles`: `large` on a real GPU,
 * `small` on a software adapter (llvmpipe compiles large workgroup arrays very slowly).
 */
export function installWebGpuKernels(tiles: TileMode = "large"): void {
  setTileMode(tiles);
  watchPipelines();
  registerSumGradient();
  installFusedAdam();
  installFusedDense();
  if (stockConfigs.size > 0) return;
  for (const [name, wrap] of OURS) {
    const stock = tf.getKernel(name, "webgpu");
    if (!stock) throw new Error(`installWebGpuKernels: tfjs-webgpu has no ${name} kernel`);
    stockConfigs.set(name, stock);
    tf.unregisterKernel(name, "webgpu");
    tf.registerKernel({ ...stock, kernelFunc: wrap(stock.kernelFunc) });
  }
}

/** Put tfjs-webgpu's own kernels back (idempotent). */
export function uninstallWebGpuKernels(): void {
  uninstallFusedAdam();
  uninstallFusedDense();
  for (const [name, stock] of stockConfigs) {
    tf.unregisterKernel(name, "webgpu");
    tf.registerKernel(stock);
  }
  stockConfigs.clear();
}
