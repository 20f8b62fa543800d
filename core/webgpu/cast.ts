/**
 * `Cast` from int32 or bool to float32 that converts. tfjs-webgpu's own kernel treats that cast
 * as lossless and returns the input's buffer relabelled float32 (int32 bits unchanged, and the
 * backend still records it as int32). Programs that then read it declare the input `i32` and
 * some cannot use it as a float: tfjs's Transpose (ahead of a reduction over a middle axis,
 * e.g. a masked sum) and genbench's matrix product (core/webgpu/matmul.ts) compile to invalid
 * shaders. Nothing runs, the output keeps a stale buffer from tfjs's pool, and the invalid
 * pipeline fails the whole submit, taking the other dispatches batched with it along: values
 * that change from run to run (text2image: its one-hot word lookup and its padding mask).
 * Here the cast makes float32 data: on the host where tfjs would run the cast there (small
 * tensors held on the host), otherwise one dispatch. Integers up to 2^24 convert exactly, so
 * every consumer reads the values it was meant to (tests/core/webgpu_cast.test.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { KernelArgs } from "./conv.ts";
import { dispatchRaw, grid256 } from "./dispatch.ts";

/** The parts of tfjs-webgpu's backend this uses (internal, stable across 4.x). */
interface BackendInternals {
  tensorMap: { get(dataId: object): { values: ArrayLike<number> | null } };
  shouldExecuteOnCPU(inputs: TensorInfo[]): boolean;
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

/** int32 and bool are both stored as i32 on webgpu. */
const CODE = `
struct Params { size: u32 }
@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let i = (wg.y * groups.x + wg.x) * 256u + lane;
  if (i >= p.size) { return; }
  result[i] = f32(x[i]);
}`;

export function castKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x;
    const { dtype } = attrs as unknown as { dtype: tf.DataType };
    const size = tf.util.sizeFromShape(x.shape);
    if (dtype !== "float32" || (x.dtype !== "int32" && x.dtype !== "bool") || size === 0) {
      return stock(args);
    }
    const gpu = backend as unknown as BackendInternals;
    if (gpu.shouldExecuteOnCPU([x])) {
      const values = gpu.tensorMap.get(x.dataId).values!;
      return gpu.makeTensorInfo(x.shape, "float32", Float32Array.from(values));
    }
    return dispatchRaw(
      backend as WebGPUBackend,
      CODE,
      grid256(size),
      [x.shape],
      [x],
      [{ type: "uint32", data: [size] }],
    )[0];
  };
}
