/**
 * One compute dispatch of our own WGSL inside tfjs-webgpu's command stream, for kernels that
 * write several outputs at once (tfjs programs have exactly one). The dispatch joins tfjs's open
 * compute pass and obeys its submit batching, so it is ordered with every queued tfjs kernel,
 * and the buffers it binds are held until that submit, as tfjs holds its own.
 */
import { env, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";

/** The parts of tfjs-webgpu's backend this uses (internal, stable across 4.x). */
interface BackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  tensorMap: { get(dataId: object): { resource: unknown } };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: "float32"): TensorInfo;
  makeUniforms(
    uniforms: { type: "float32" | "int32" | "uint32"; data: number[] }[],
  ): GPUBufferBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The compute pipeline of `code` (entry point `main`) on this device, compiled once. */
function pipelineFor(device: GPUDevice, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  let pipeline = cache.get(code);
  if (!pipeline) {
    pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
    });
    cache.set(code, pipeline);
  }
  return pipeline;
}

/**
 * Run `code` over `workgroups` (x, y) with bindings: the outputs first (fresh float32 tensors of
 * the given shapes, `read_write`), then the inputs (`read`), then one uniform buffer of scalars.
 * Returns the outputs.
 */
export function dispatchRaw(
  backend: WebGPUBackend,
  code: string,
  workgroups: [number, number],
  outputShapes: number[][],
  inputs: TensorInfo[],
  uniforms: { type: "float32" | "int32" | "uint32"; data: number[] }[],
): TensorInfo[] {
  const gpu = backend as unknown as BackendInternals;
  const outputs = outputShapes.map((shape) => gpu.makeTensorInfo(shape, "float32"));
  const tensors = [...outputs, ...inputs];
  const entries: GPUBindGroupEntry[] = tensors.map((t, binding) => {
    gpu.uploadToGPU(t.dataId);
    gpu.commandQueueOwnedIds.add(t.dataId);
    return { binding, resource: { buffer: gpu.tensorMap.get(t.dataId).resource as GPUBuffer } };
  });
  entries.push({ binding: tensors.length, resource: gpu.makeUniforms(uniforms) });
  const pipeline = pipelineFor(gpu.device, code);
  const bindGroup = gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  gpu.ensureCommandEncoderReady();
  if (!gpu.computePassEncoder) gpu.computePassEncoder = gpu.commandEncoder!.beginComputePass();
  gpu.computePassEncoder.setPipeline(pipeline);
  gpu.computePassEncoder.setBindGroup(0, bindGroup);
  gpu.computePassEncoder.dispatchWorkgroups(workgroups[0], workgroups[1]);
  if (++gpu.dispatchCountInPass >= env().getNumber("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE")) {
    gpu.endComputePassEncoder();
    gpu.submitQueue();
  }
  return outputs;
}

/**
 * Submit whatever tfjs has encoded and not yet submitted (it batches dispatches into one
 * submit), so that the queue holds all the work issued so far.
 */
export function flushTfjs(backend: WebGPUBackend): void {
  const gpu = backend as unknown as BackendInternals;
  if (!gpu.commandEncoder) return;
  gpu.endComputePassEncoder();
  gpu.submitQueue();
}

/** Workgroups of 256 threads covering `size` items, as a 2-D grid under the per-axis limit. */
export function grid256(size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(size / 256));
  const cols = Math.min(groups, 32768);
  return [cols, Math.ceil(groups / cols)];
}

/**
 * The number of compute dispatches `fn` records (tfjs's kernels and ours alike), the measure of
 * per-kernel overhead that does not depend on the GPU: tf.profile counts kernel calls, some of
 * which dispatch nothing (reshape) and some several (a transpose before a reduction).
 */
export async function countDispatches(fn: () => unknown): Promise<number> {
  const proto = GPUComputePassEncoder.prototype;
  const dispatch = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args) {
    count++;
    return dispatch.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.dispatchWorkgroups = dispatch;
  }
  return count;
}
