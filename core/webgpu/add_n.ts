/**
 * `AddN` in chunks the adapter can bind. tfjs-webgpu's AddN binds every input as a storage
 * buffer in one shader; past the device's `maxStorageBuffersPerShaderStage` (8 on lavapipe:
 * 7 inputs and the output) the bind group is invalid, nothing runs, and the output buffer keeps
 * a stale value from tfjs's pool (seen: addN of 8 tensors returned the sum of 7). Here the
 * first chunk is summed by the stock kernel and each later chunk is added to the running sum,
 * left to right as the one-shader sum associates, so the bits are the stock kernel's where it
 * works (tests/core/webgpu_add_n.test.ts).
 */
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";

/** Inputs per stock call: the device's storage-buffer limit less the output. */
function chunkSize(backend: WebGPUBackend): number {
  return Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
}

export function addNKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend } = args as unknown as KernelArgs;
    // tfjs hands AddN its inputs as an array.
    const tensors = Object.values(inputs) as TensorInfo[];
    const call = (part: TensorInfo[]) =>
      stock({ ...args, inputs: part as unknown as NamedTensorInfoMap }) as TensorInfo;
    const gpu = backend as WebGPUBackend;
    const size = chunkSize(gpu);
    if (tensors.length <= size) return stock(args);
    let sum = call(tensors.slice(0, size));
    for (let start = size; start < tensors.length; start += size - 1) {
      const next = call([sum, ...tensors.slice(start, start + size - 1)]);
      gpu.disposeData(sum.dataId);
      sum = next;
    }
    return sum;
  };
}
