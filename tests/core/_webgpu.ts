/**
 * Shared by the WebGPU kernel tests: whether this machine has a WebGPU adapter (CI has the
 * software one, Mesa llvmpipe), with tfjs-webgpu loaded when it does. Tests skip without one.
 */
import * as tf from "@tensorflow/tfjs-core";

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
