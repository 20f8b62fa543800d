/**
 * Backend selection. `auto` picks WebGPU only on a hardware adapter (a software adapter such
 * as Mesa llvmpipe is slower than the CPU), else `wasm` (XNNPACK matrix products, 2–5× faster
 * than `cpu` on the MLP models and deterministic run to run), else the `cpu` reference.
 */
import * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { UsageError } from "./errors.ts";
import { installCpuKernels } from "./cpu_kernels.ts";
import { threadCount } from "./threads.ts";
import { startThreadedWasm } from "./wasm_threads.ts";
import { installWasmAdam } from "./wasm_adam.ts";

/** The backends a user can name with `--backend`. */
export const BACKENDS = ["auto", "webgpu", "cpu", "wasm", "tensorflow"] as const;
export type BackendName = typeof BACKENDS[number];

/** What was selected, for provenance. */
export interface BackendInfo {
  /** The tfjs backend in use: `webgpu`, `cpu`, `wasm` or `tensorflow`. */
  name: string;
  /** The GPU adapter's description, when the backend runs on one. */
  adapter: string | null;
  /** True when the WebGPU adapter is a software fallback (e.g. llvmpipe). */
  fallbackAdapter: boolean;
  /** wasm: the XNNPACK threads (core/threads.ts). */
  threads?: number;
  /**
   * webgpu: training steps are recorded and replayed (core/webgpu/stepper.ts); on by default,
   * off with `--no-replay`. Results are the same bit for bit either way.
   */
  replay?: boolean;
}

// tfjs prints a banner suggesting tfjs-node on the first CPU tensor; genbench chooses its
// backend on purpose. PROD also turns off tfjs's debug-mode checks.
tf.env().set("PROD", true);

async function gpuAdapter(): Promise<GPUAdapter | null> {
  if (!("gpu" in navigator) || !navigator.gpu) return null;
  try {
    return await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
}

function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info;
  return [info.description, info.vendor && `vendor ${info.vendor}`, info.architecture]
    .filter(Boolean).join(", ") || "unknown adapter";
}

/** Make `requested` the active tfjs backend and say what it is. */
export async function selectBackend(requested: BackendName): Promise<BackendInfo> {
  if (!BACKENDS.includes(requested)) {
    throw new UsageError(
      `--backend: unknown backend "${requested}" (expected one of ${BACKENDS.join(", ")})`,
    );
  }
  if (requested === "auto") {
    const adapter = await gpuAdapter();
    if (adapter && !adapter.info.isFallbackAdapter) return await useWebGpu(adapter);
    try {
      return await useWasm();
    } catch {
      return await useCpu(); // e.g. the wasm binaries cannot be read
    }
  }
  if (requested === "cpu") return await useCpu();
  if (requested === "webgpu") {
    const adapter = await gpuAdapter();
    if (!adapter) {
      throw new UsageError(
        "--backend webgpu: no WebGPU adapter is available on this machine (use --backend cpu)",
      );
    }
    return await useWebGpu(adapter);
  }
  if (requested === "wasm") return await useWasm();
  // tensorflow: load tfjs-node-gpu only if it was installed; genbench never downloads it.
  const require = createRequire(import.meta.url);
  try {
    require("@tensorflow/tfjs-node-gpu");
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    // Not in the project's node_modules: the search went on up the folders (not permitted).
    const missing = error instanceof Deno.errors.NotCapable ||
      /Cannot find module|MODULE_NOT_FOUND|Requires read access/.test(why);
    // The fix: install the package with its install script, which fetches libtensorflow.
    const install = 'add "@tensorflow/tfjs-node-gpu": "npm:@tensorflow/tfjs-node-gpu@4.22.0" to ' +
      "deno.json's imports and run deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu " +
      "(its install script downloads libtensorflow for CUDA 11.2 and cuDNN 8.1 from Google's " +
      "storage)";
    throw new UsageError(
      `--backend tensorflow: @tensorflow/tfjs-node-gpu ${
        missing ? "is not installed" : `cannot be loaded (${why})`
      }; to use it on an NVIDIA GPU, ${install}; or use --backend webgpu, wasm or cpu`,
    );
  }
  await setOrFail("tensorflow");
  return { name: "tensorflow", adapter: "libtensorflow (CUDA)", fallbackAdapter: false };
}

async function useCpu(): Promise<BackendInfo> {
  await import("@tensorflow/tfjs-backend-cpu");
  installCpuKernels("cpu");
  await setOrFail("cpu");
  return { name: "cpu", adapter: null, fallbackAdapter: false };
}

async function useWasm(): Promise<BackendInfo> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const require = createRequire(import.meta.url);
  const dir = require.resolve("@tensorflow/tfjs-backend-wasm/package.json").replace(
    /package\.json$/,
    "dist/",
  );
  wasm.setWasmPaths(dir);
  await import("@tensorflow/tfjs-backend-cpu");
  installCpuKernels("wasm");
  borrowMissingKernels("wasm", "cpu");
  installWasmAdam(); // Adam's update in one SIMD pass, same bits (core/wasm_adam.ts)
  // One thread: the SIMD binary, no workers; more: the threaded SIMD binary (wasm_threads.ts).
  let threads = threadCount();
  if (threads === 1) await setOrFail("wasm");
  else threads = await startThreadedWasm(wasm, threads, () => setOrFail("wasm"));
  return { name: "wasm", adapter: null, fallbackAdapter: false, threads };
}

/**
 * Register, for `target`, every kernel it lacks that `donor` has, by copying the inputs to the
 * donor backend, running its kernel there and copying the result back (for wasm: the few
 * kernels tfjs-backend-wasm lacks that core/cpu_kernels.ts does not supply, e.g.
 * `UnsortedSegmentSum`).
 */
export function borrowMissingKernels(target: string, donor: string): string[] {
  const have = new Set(tf.getKernelsForBackend(target).map((k) => k.kernelName));
  const borrowed: string[] = [];
  for (const kernel of tf.getKernelsForBackend(donor)) {
    if (have.has(kernel.kernelName)) continue;
    tf.registerKernel({
      kernelName: kernel.kernelName,
      backendName: target,
      kernelFunc: ({ inputs, backend: targetBackend, attrs }) => {
        const backend = targetBackend as tf.KernelBackend;
        const host = tf.findBackend(donor)!;
        const moved: tf.NamedTensorInfoMap = {};
        for (const [name, info] of Object.entries(inputs) as [string, tf.TensorInfo][]) {
          const values = backend.readSync(info.dataId) as tf.backend_util.BackendValues;
          moved[name] = { ...info, dataId: host.write(values, info.shape, info.dtype) };
        }
        const result = kernel.kernelFunc({ inputs: moved, backend: host, attrs });
        const outputs = Array.isArray(result) ? result : [result];
        const back = outputs.map((out) => {
          const values = host.readSync(out.dataId) as tf.backend_util.BackendValues;
          host.disposeData(out.dataId);
          const dataId = backend.write(values, out.shape, out.dtype);
          return { dataId, shape: out.shape, dtype: out.dtype };
        });
        for (const info of Object.values(moved) as tf.TensorInfo[]) host.disposeData(info.dataId);
        return Array.isArray(result) ? back : back[0];
      },
    });
    borrowed.push(kernel.kernelName);
  }
  return borrowed;
}

async function useWebGpu(adapter: GPUAdapter): Promise<BackendInfo> {
  await import("@tensorflow/tfjs-backend-webgpu");
  await setOrFail("webgpu");
  // genbench's own conv/matmul/Adam kernels (core/webgpu/); small tiles on a software adapter,
  // whose shader compiler takes minutes over large workgroup arrays.
  const { installWebGpuKernels } = await import("./webgpu/install.ts");
  installWebGpuKernels(adapter.info.isFallbackAdapter ? "small" : "large");
  return {
    name: "webgpu",
    adapter: adapterName(adapter),
    fallbackAdapter: adapter.info.isFallbackAdapter,
    replay: true,
  };
}

async function setOrFail(name: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch {
    ok = false;
  }
  if (!ok || tf.getBackend() !== name) {
    throw new UsageError(`--backend ${name}: the tfjs ${name} backend failed to initialise`);
  }
}
