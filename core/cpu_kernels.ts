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
 *   convolution per stride phase.
 * - `BatchMatMul` on wasm with a transpose flag: tfjs-wasm runs those as a plain loop (~9×
 *   slower); ours transposes the operand first, and splits a long shared dimension
 *   (core/wasm_kernels.ts).
 *
 * All add in a fixed order, so results are identical run to run. NHWC only (all genbench uses);
 * NCHW goes to the stock kernel where the backend has one.
 */
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { chunkRowsFor, filterGrad, transposedAMatMul } from "./wasm_kernels.ts";

type Shape4 = [number, number, number, number];

/** Geometry of a 2-D convolution y = conv(x, W) with W of shape [kh, kw, cin, cout]. */
export interface ConvGeometry {
  x: Shape4;
  dy: Shape4;
  kh: number;
  kw: number;
  strideY: number;
  strideX: number;
  top: number;
  left: number;
}

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

/** One output phase of a strided input gradient along one axis (see {@link inputGradPhases}). */
interface AxisPhase {
  /** The first kernel tap of this phase; its taps are r, r + s, r + 2s, … below k. */
  r: number;
  /** Number of taps. */
  taps: number;
  /** dx positions q·s + r − pad for q = q0 … q0 + count − 1. */
  q0: number;
  count: number;
}

function axisPhases(size: number, k: number, stride: number, pad: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let r = 0; r < stride; r++) {
    const taps = Math.max(0, Math.ceil((k - r) / stride));
    const q0 = Math.ceil((pad - r) / stride);
    const count = Math.floor((size - 1 + pad - r) / stride) - q0 + 1;
    if (count > 0) phases.push({ r, taps, q0, count });
  }
  return phases;
}

/**
 * The input gradient dx[i] = Σ_{o·s + k − pad = i} dy[o]·W[k], split by the phase of i + pad
 * modulo the stride: within a phase only the taps r, r + s, … contribute, and dx is a stride-1
 * `valid` convolution of dy (shifted and zero-padded) with those taps flipped. A stride of 1 is
 * one phase; stride 2 is four convolutions with a quarter of the taps each, so no multiplication
 * by an inserted zero is ever done. `conv` runs one NHWC `valid` convolution.
 */
export function inputGradPhases(
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeometry,
  conv: (x: Float32Array, xShape: Shape4, f: Float32Array, fShape: Shape4) => Float32Array,
): Float32Array {
  const [batch, height, width, cin] = g.x;
  const [, outH, outW, cout] = g.dy;
  const dx = new Float32Array(batch * height * width * cin);
  for (const py of axisPhases(height, g.kh, g.strideY, g.top)) {
    for (const px of axisPhases(width, g.kw, g.strideX, g.left)) {
      if (py.taps === 0 || px.taps === 0) continue; // no tap reaches these positions: dx = 0
      // P[t] = dy[q0 − (taps − 1) + t], zero outside dy.
      const ph = py.count + py.taps - 1;
      const pw = px.count + px.taps - 1;
      const padded = new Float32Array(batch * ph * pw * cout);
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < ph; t++) {
          const oy = py.q0 - (py.taps - 1) + t;
          if (oy < 0 || oy >= outH) continue;
          for (let u = 0; u < pw; u++) {
            const ox = px.q0 - (px.taps - 1) + u;
            if (ox < 0 || ox >= outW) continue;
            const from = ((b * outH + oy) * outW + ox) * cout;
            padded.set(dy.subarray(from, from + cout), ((b * ph + t) * pw + u) * cout);
          }
        }
      }
      // F[t, u, co, ci] = W[r + (taps − 1 − t)·s, …, ci, co].
      const filter = new Float32Array(py.taps * px.taps * cout * cin);
      for (let t = 0; t < py.taps; t++) {
        const ky = py.r + (py.taps - 1 - t) * g.strideY;
        for (let u = 0; u < px.taps; u++) {
          const kx = px.r + (px.taps - 1 - u) * g.strideX;
          const to = (t * px.taps + u) * cout * cin;
          const from = (ky * g.kw + kx) * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            for (let co = 0; co < cout; co++) filter[to + co * cin + ci] = w[from + ci * cout + co];
          }
        }
      }
      const out = conv(padded, [batch, ph, pw, cout], filter, [py.taps, px.taps, cout, cin]);
      if (g.strideY === 1 && g.strideX === 1) return out; // one phase covering all of dx
      for (let b = 0; b < batch; b++) {
        for (let qy = 0; qy < py.count; qy++) {
          const iy = (py.q0 + qy) * g.strideY + py.r - g.top;
          for (let qx = 0; qx < px.count; qx++) {
            const ix = (px.q0 + qx) * g.strideX + px.r - g.left;
            const from = ((b * py.count + qy) * px.count + qx) * cin;
            dx.set(out.subarray(from, from + cin), ((b * height + iy) * width + ix) * cin);
          }
        }
      }
    }
  }
  return dx;
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
  const conv2d = tf.getKernel("Conv2D", "wasm")!.kernelFunc;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const backend = args.backend as tf.KernelBackend;
  const xShape = attrs.inputShape as Shape4;
  const g = geometry(xShape, filter.shape, dy.shape, attrs);
  const conv = (x: Float32Array, xs: Shape4, f: Float32Array, fs: Shape4) => {
    const inputs = { x: write(backend, x, xs), filter: write(backend, f, fs) };
    const out = conv2d({
      inputs,
      backend,
      attrs: { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1 },
    }) as TensorInfo;
    const values = read(backend, out);
    for (const t of [inputs.x, inputs.filter, out]) backend.disposeData(t.dataId);
    return values;
  };
  return write(backend, inputGradPhases(read(backend, dy), read(backend, filter), g, conv), xShape);
};

/**
 * tfjs-wasm's BatchMatMul runs XNNPACK only without transposes; with either flag it falls back
 * to a plain loop ~9× slower (the gradients of every dense layer). Transposing the operand
 * first (one copy) and multiplying without flags is much faster and gives the same products.
 * Aᵀ·B with a long shared dimension goes by chunks of it (core/wasm_kernels.ts).
 */
const matMulKernel = (stock: KernelFunc | null): KernelFunc => (args) => {
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if (!attrs.transposeA && !attrs.transposeB) return stock!(args);
  const backend = args.backend as tf.KernelBackend;
  const [k, m] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const single = (t: TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
  if (
    attrs.transposeA && !attrs.transposeB && single(a) && single(b) &&
    a.shape.length === b.shape.length && k >= 4 * chunkRowsFor(n)
  ) {
    const values = transposedAMatMul(backend as BackendWasm, stock!, a, b, chunkRowsFor(n));
    return write(backend, values, [...a.shape.slice(0, -2), m, n]);
  }
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
  }
}
