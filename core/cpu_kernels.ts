/**
 * Kernels of our own for the CPU-side backends, registered over tfjs's (the profile of a PixelCNN
 * training step on wasm decided which; `deno task bench:micro --backend wasm`):
 *
 * - `Conv2DBackpropFilter`: tfjs-wasm has none, and tfjs-cpu's reads every element through
 *   `TensorBuffer.get` (~20× slower than its forward conv). wasm: one XNNPACK convolution of
 *   transposed operands (core/wasm_kernels.ts); cpu: one pass over typed arrays that skips zero
 *   inputs.
 * - `Conv2DBackpropInput` on wasm (also what `conv2dTranspose` runs): tfjs-wasm's is a plain loop,
 *   ~12× slower than its forward conv; ours is the forward conv (XNNPACK) on flipped taps, one
 *   convolution per stride phase (core/wasm_kernels.ts).
 * - `BatchMatMul` on wasm with a transpose flag: tfjs-wasm runs those as a plain loop (~9×
 *   slower); ours transposes the operand first.
 * - `Sum` on wasm over leading axes (bias gradients): one pass in float64 instead of tfjs-wasm's
 *   transpose first.
 *
 * All add in a fixed order, so results are identical run to run. NHWC only (all genbench uses);
 * NCHW goes to the stock kernel where the backend has one.
 */
import * as tf from "@tensorflow/tfjs-core";
import { backend_util, util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  type ConvGeometry,
  filterGrad,
  inputGrad,
  leadingSum,
  type Shape4,
} from "./wasm_kernels.ts";

/**
 * dW[ky, kx, ci, co] = Σ_{b, oy, ox} x[b, oy·sy + ky − top, ox·sx + kx − left, ci] · dy[b, oy, ox, co],
 * accumulated in float64 with a contiguous inner loop over co; zero inputs (ReLU outputs) are
 * skipped.
 */
export function convFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const [batch, height, width, cin] = g.x;
  const [, outH, outW, cout] = g.dy;
  const dw = new Float64Array(g.kh * g.kw * cin * cout);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const dyOff = ((b * outH + oy) * outW + ox) * cout;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideY + ky - g.top;
          if (iy < 0 || iy >= height) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideX + kx - g.left;
            if (ix < 0 || ix >= width) continue;
            const xOff = ((b * height + iy) * width + ix) * cin;
            const wBase = (ky * g.kw + kx) * cin;
            for (let ci = 0; ci < cin; ci++) {
              const xval = x[xOff + ci];
              if (xval === 0) continue;
              const wOff = (wBase + ci) * cout;
              for (let co = 0; co < cout; co++) dw[wOff + co] += xval * dy[dyOff + co];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dw);
}

function geometry(
  xShape: number[],
  filterShape: number[],
  dyShape: number[],
  attrs: Record<string, unknown>,
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as backend_util.ExplicitPadding,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
  );
  return {
    x: xShape as Shape4,
    dy: dyShape as Shape4,
    kh: info.filterHeight,
    kw: info.filterWidth,
    strideY: info.strideHeight,
    strideX: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

const isNhwc = (attrs: Record<string, unknown>) => (attrs.dataFormat ?? "NHWC") === "NHWC";

function read(backend: tf.KernelBackend, info: TensorInfo): Float32Array {
  return backend.readSync(info.dataId) as Float32Array;
}

function write(backend: tf.KernelBackend, values: Float32Array, shape: number[]): TensorInfo {
  return { dataId: backend.write(values, shape, "float32"), shape, dtype: "float32" };
}

const filterGradKernel =
  (backendName: "cpu" | "wasm") => (stock: KernelFunc | null): KernelFunc => (args) => {
    const attrs = args.attrs as unknown as Record<string, unknown>;
    if (!isNhwc(attrs)) {
      if (stock) return stock(args);
      throw new Error("Conv2DBackpropFilter: only NHWC is supported on this backend");
    }
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const backend = args.backend as tf.KernelBackend;
    const filterShape = attrs.filterShape as Shape4;
    const g = geometry(x.shape, filterShape, dy.shape, attrs);
    if (backendName === "wasm") {
      return filterGrad(backend as BackendWasm, stockKernel("BatchMatMul", "wasm"), x, dy, g);
    }
    return write(backend, convFilterGrad(read(backend, x), read(backend, dy), g), filterShape);
  };

const inputGradKernel = (stock: KernelFunc | null): KernelFunc => (args) => {
  const attrs = args.attrs as unknown as Record<string, unknown>;
  if (!isNhwc(attrs)) {
    if (stock) return stock(args);
    throw new Error("Conv2DBackpropInput: only NHWC is supported on this backend");
  }
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const g = geometry(attrs.inputShape as number[], filter.shape, dy.shape, attrs);
  return inputGrad(args.backend as BackendWasm, dy, filter, g);
};

/**
 * tfjs-wasm's BatchMatMul runs XNNPACK only without transposes; with either flag it falls back
 * to a plain loop ~9× slower (the gradients of every dense layer). Transposing the operand
 * first (one copy) and multiplying without flags is much faster and gives the same products.
 */
const matMulKernel = (stock: KernelFunc | null): KernelFunc => (args) => {
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if (!attrs.transposeA && !attrs.transposeB) return stock!(args);
  const backend = args.backend as tf.KernelBackend;
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  const swapLast = (t: TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const n = perm.length;
    [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
    return transpose({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
  };
  const at = attrs.transposeA ? swapLast(a) : a;
  const bt = attrs.transposeB ? swapLast(b) : b;
  try {
    return stock!({
      inputs: { a: at, b: bt },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
  } finally {
    if (at !== a) backend.disposeData(at.dataId);
    if (bt !== b) backend.disposeData(bt.dataId);
  }
};

/** Sum over the leading axes of a float32 tensor (bias gradients) on wasm: core/wasm_kernels.ts. */
const sumKernel = (stock: KernelFunc | null): KernelFunc => (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const axes = [...new Set(util.parseAxisParam(attrs.axis, x.shape))].sort((a, b) => a - b);
  const leading = axes.every((axis, i) => axis === i) && axes.length < x.shape.length;
  if (x.dtype !== "float32" || axes.length === 0 || !leading) return stock!(args);
  return leadingSum(args.backend as BackendWasm, x, axes.length, attrs.keepDims);
};

const stockKernels = new Map<string, KernelConfig | null>();

/** The backend's own kernel that {@link installCpuKernels} replaced. */
function stockKernel(name: string, backendName: string): KernelFunc {
  const stock = stockKernels.get(`${name}/${backendName}`);
  if (!stock) throw new Error(`${name}: the ${backendName} backend has no stock kernel`);
  return stock.kernelFunc;
}

function replace(
  name: string,
  backendName: string,
  wrap: (stock: KernelFunc | null) => KernelFunc,
) {
  const key = `${name}/${backendName}`;
  if (stockKernels.has(key)) return;
  const stock = tf.getKernel(name, backendName) ?? null;
  stockKernels.set(key, stock);
  if (stock) tf.unregisterKernel(name, backendName);
  // Keep the stock setupFunc: wasm kernels bind their C++ entry points there.
  tf.registerKernel({
    ...(stock ?? {}),
    kernelName: name,
    backendName,
    kernelFunc: wrap(stock?.kernelFunc ?? null),
  });
}

/**
 * Register our kernels for `backendName` (`cpu` or `wasm`; idempotent). Call after the
 * backend's package has been imported, before the backend is set and kernels are borrowed.
 */
export function installCpuKernels(backendName: "cpu" | "wasm"): void {
  replace("Conv2DBackpropFilter", backendName, filterGradKernel(backendName));
  if (backendName === "wasm") {
    replace("Conv2DBackpropInput", "wasm", inputGradKernel);
    replace("BatchMatMul", "wasm", matMulKernel);
    replace("Sum", "wasm", sumKernel);
  }
}
