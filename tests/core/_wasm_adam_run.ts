/**
 * Run by tests/core/wasm_adam.test.ts in a process of its own (the wasm backend starts once per
 * process): `--threads N`, then the same Adam steps with tfjs's own update and with the fused
 * kernel (core/wasm_adam.ts), the wasm heap grown between steps. Prints, as JSON, every result's
 * float32 bits as hex for both, the kernels each ran, the heap's growth and whether a tensor
 * sharing a variable's data kept its values.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { selectBackend } from "../../core/backend.ts";
import { setThreadCount } from "../../core/threads.ts";
import { installWasmAdam, uninstallWasmAdam, wasmHeap } from "../../core/wasm_adam.ts";
import { Stream } from "../../core/rng.ts";

setThreadCount(Number(Deno.args[0]));
const info = await selectBackend("wasm");
const heap = wasmHeap(tf.backend() as BackendWasm);
// Sizes that are not multiples of 4 (the kernel's scalar tail) and one that is.
const SHAPES = [[37, 5], [7], [1], [4099], [16, 3]];

/** Six steps of Adam on SHAPES, gradients by both forms; the heap grows after step 2. */
async function steps(): Promise<{ bits: string[]; kernels: string[]; sharedKept: boolean }> {
  const s = Stream.derive(5, "wasm-adam");
  const draw = (shape: number[], scale = 1) =>
    tf.tensor(
      Float32Array.from(
        { length: shape.reduce((a, b) => a * b, 1) },
        () => scale * (2 * s.uniform() - 1),
      ),
      shape,
    );
  const vars = SHAPES.map((shape) => tf.variable(draw(shape)));
  const shared = tf.clone(vars[0]); // shares the variable's data until it is reassigned
  const before = shared.dataSync().slice();
  const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  const kernels = new Set<string>();
  let ballast: tf.Tensor | null = null;
  for (let step = 0; step < 6; step++) {
    // Gradients of very different sizes, so that ε and the bias corrections matter.
    const grads = SHAPES.map((shape, i) => draw(shape, i === 2 ? 1e-6 : 10 ** (step % 3 - 1)));
    const named = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
    const profile = await tf.profile(() => {
      if (step % 2) {
        opt.applyGradients(named as unknown as Parameters<typeof opt.applyGradients>[0]);
      } else opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    });
    profile.kernelNames.forEach((name) => kernels.add(name));
    tf.dispose(grads);
    // 64 MiB more than the heap holds now: tfjs-wasm's malloc grows the memory.
    if (step === 2) ballast = tf.zeros([heap.buffer.byteLength / 4 + (1 << 24)]);
  }
  const sharedKept = shared.dataSync().every((x, i) => Object.is(x, before[i]));
  const internal = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  const results = [
    ...vars,
    ...(await opt.getWeights()).slice(1).map((w) => w.tensor),
    internal.accBeta1,
    internal.accBeta2,
  ];
  const hex = (t: tf.Tensor) =>
    Array.from(
      new Uint32Array((t.dataSync() as Float32Array).slice().buffer),
      (v) => v.toString(16),
    )
      .join(",");
  const bits = results.map(hex);
  opt.dispose();
  tf.dispose([...vars, shared, ballast!]);
  return { bits, kernels: [...kernels].sort(), sharedKept };
}

const heapBefore = heap.buffer.byteLength;
uninstallWasmAdam();
const stock = await steps();
installWasmAdam();
const fused = await steps();
console.log(JSON.stringify({
  threads: info.threads,
  shared: heap.buffer instanceof SharedArrayBuffer,
  grewBy: heap.buffer.byteLength - heapBefore,
  stock,
  fused,
}));
