/**
 * A fused Adam update for the wasm backend. tfjs's own update is 14 elementwise kernels per
 * variable (~5.5 ms of a vae-mlp training step at 1 thread); a scalar JavaScript loop over the
 * heap gives the same bits but is slower than those kernels. Here one WebAssembly SIMD pass
 * (core/kernels/adam.as.ts) reads the value, m, v and the gradient on tfjs-backend-wasm's own
 * heap and writes the new value, m and v into fresh tensors there, as tfjs does (nothing that
 * shares a variable's data changes). The kernel module imports the backend's memory — the one
 * its single-threaded build exports, or the shared one its threaded build creates — and has no
 * data segment and no allocator, so it touches only the offsets it is given. Its arithmetic is
 * tfjs's, operation by operation in float32, so training on wasm gives the same bits as before.
 *
 * {@link installWasmAdam} registers the two kernels core/adam.ts routes Adam's update to.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  ADAM_BETAS_KERNEL,
  ADAM_KERNEL,
  registerOnce,
  routeAdamThroughKernels,
  unregisterFusedAdam,
} from "./adam.ts";
import { wasmBase64 } from "./kernels/adam_wasm.ts";
import { wasmBase64 as sharedWasmBase64 } from "./kernels/adam_shared_wasm.ts";

/** The exports of core/kernels/adam.as.ts (byte offsets on the backend's heap). */
interface AdamModule {
  adam(
    x: number,
    m: number,
    v: number,
    g: number,
    xOut: number,
    mOut: number,
    vOut: number,
    n: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    correction1: number,
    correction2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
}

/** The backend's heap and the kernel instantiated on it. */
interface HeapKernel {
  memory: WebAssembly.Memory;
  kernel: AdamModule;
}

const instances = new WeakMap<WebAssembly.Memory, AdamModule>();

/** tfjs-backend-wasm's WebAssembly memory: emscripten's `wasmMemory`, else the module's export. */
export function wasmHeap(backend: BackendWasm): WebAssembly.Memory {
  const module = backend.wasm as unknown as {
    wasmMemory?: unknown;
    asm?: { memory?: unknown };
  };
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error("fused Adam: tfjs-backend-wasm exposes no WebAssembly memory");
  }
  return memory;
}

function heapKernel(backend: BackendWasm): HeapKernel {
  const memory = wasmHeap(backend);
  let kernel = instances.get(memory);
  if (!kernel) {
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      memory.buffer instanceof SharedArrayBuffer;
    const base64 = shared ? sharedWasmBase64 : wasmBase64;
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
      .exports as unknown as AdamModule;
    instances.set(memory, kernel);
  }
  return { memory, kernel };
}

function offset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

function float32Input(t: TensorInfo, name: string, size: number): void {
  if (t.dtype !== "float32" || tf.util.sizeFromShape(t.shape) !== size) {
    throw new Error(
      `fused Adam: ${name} is ${t.dtype} [${t.shape}], expected float32 with ${size} values`,
    );
  }
}

/** [β₁ᵗ, β₂ᵗ] and the next β powers, as tfjs's float32 `mul` of the accumulators. */
const betasKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { acc1, acc2 } = inputs as { acc1: TensorInfo; acc2: TensorInfo };
  const { beta1, beta2 } = attrs as unknown as { beta1: number; beta2: number };
  const outputs = [
    wasm.makeOutput([2], "float32"),
    ...[0, 1].map(() => wasm.makeOutput([], "float32")),
  ];
  // After the allocations, which may grow the heap (a new buffer).
  const { memory } = heapKernel(wasm);
  const read = (t: TensorInfo) => new Float32Array(memory.buffer, offset(wasm, t), 1)[0];
  const [p1, p2] = [read(acc1), read(acc2)];
  new Float32Array(memory.buffer, offset(wasm, outputs[0]), 2).set([p1, p2]);
  // A product of two float32 values is exact in float64; one rounding gives float32's product.
  new Float32Array(memory.buffer, offset(wasm, outputs[1]), 1)[0] = p1 * Math.fround(beta1);
  new Float32Array(memory.buffer, offset(wasm, outputs[2]), 1)[0] = p2 * Math.fround(beta2);
  return outputs;
};

/** [x', m', v'] from {x, m, v, g, betaPowers}: one SIMD pass (core/kernels/adam.as.ts). */
const adamKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, m, v, g, betaPowers } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as {
    beta1: number;
    beta2: number;
    epsilon: number;
    learningRate: number;
  };
  const size = tf.util.sizeFromShape(x.shape);
  for (const [name, t] of [["x", x], ["m", m], ["v", v], ["g", g]] as const) {
    float32Input(t, name, size);
  }
  const outputs = [0, 1, 2].map(() => wasm.makeOutput(x.shape, "float32"));
  const { memory, kernel } = heapKernel(wasm);
  const powers = new Float32Array(memory.buffer, offset(wasm, betaPowers), 2);
  // tfjs: sub(1, accBeta) in float32; 1 − β and −lr formed in float64, rounded once (scalars).
  kernel.adam(
    offset(wasm, x),
    offset(wasm, m),
    offset(wasm, v),
    offset(wasm, g),
    ...outputs.map((t) => offset(wasm, t)) as [number, number, number],
    size,
    a.beta1,
    a.beta2,
    1 - a.beta1,
    1 - a.beta2,
    1 - powers[0],
    1 - powers[1],
    a.epsilon,
    -a.learningRate,
  );
  return outputs;
};

/** Register the fused Adam kernels for wasm and route Adam's update to them (idempotent). */
export function installWasmAdam(): void {
  registerOnce(ADAM_KERNEL, "wasm", adamKernel);
  registerOnce(ADAM_BETAS_KERNEL, "wasm", betasKernel);
  routeAdamThroughKernels();
}

/** Put tfjs's own Adam update back on wasm (idempotent). */
export function uninstallWasmAdam(): void {
  unregisterFusedAdam("wasm");
}
