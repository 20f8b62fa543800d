/**
 * Shared by the WebGPU kernel tests: whether this machine has a WebGPU adapter (CI has the
 * software one, Mesa llvmpipe), with tfjs-webgpu loaded when it does. Tests skip without one.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { CaseResult } from "../../core/webgpu/check.ts";
import { installWebGpuKernels, uninstallWebGpuKernels } from "../../core/webgpu/install.ts";

tf.env().set("PROD", true);

async function hasAdapter(): Promise<boolean> {
  try {
    return !!(navigator.gpu && await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

export const gpu = await hasAdapter();
if (gpu) await import("@tensorflow/tfjs-backend-webgpu");

/**
 * A test on the webgpu backend, ignored without an adapter. tfjs keeps its GPU buffers and
 * pipelines across tests, so the resource and op sanitizers are off.
 */
export function webgpuTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await tf.setBackend("webgpu");
      await fn();
    },
  });
}

/** `fn` with our kernels installed (small tiles: llvmpipe compiles large ones for minutes). */
export async function withKernels<T>(fn: () => Promise<T>): Promise<T> {
  installWebGpuKernels("small");
  try {
    return await fn();
  } finally {
    uninstallWebGpuKernels();
  }
}

/** Each kernel case within `tolerance` relative error of cpu and bit-identical on a repeat. */
export function assertMatchesCpu(results: CaseResult[], tolerance: number): void {
  for (const r of results) {
    assert.ok(r.relError <= tolerance, `${r.name}: relative error ${r.relError}`);
    assert.ok(r.deterministic, `${r.name}: two runs differ`);
  }
}
