/**
 * The gradient kernels of our own on tfjs-wasm (installed by core/cpu_kernels.ts), built from
 * tfjs-wasm's own kernels (XNNPACK) so that the arithmetic stays inside WebAssembly:
 *
 * - the convolution filter gradient as one convolution: dW[ky, kx, ci, co] =
 *   Σ_{b, oy, ox} x[b, oy·s + ky − top, ox·s + kx − left, ci] · dy[b, oy, ox, co] is a stride-1
 *   convolution of x laid out as [ci, H, W, b] (the batch as channels) with dy laid out as
 *   [oh, ow, b, co] (a filter dilated by the stride), giving [ci, kh, kw, co];
 * - a 1×1 convolution's filter gradient, and that of small patches (first layers) after an
 *   im2col here, as one product Aᵀ·B with K = batch·H·W. The product can be split along K
 *   (`transposedAMatMul`), but splitting did not pay: 512-row chunks of [100352, 64]ᵀ·[100352, 64]
 *   were 10–20% faster on 1 thread and 2.5–3.5× slower on 2 threads with the other core busy
 *   (each XNNPACK call waits for every thread), so the kernels use one chunk;
 * - the input gradient, one stride-1 convolution per stride phase;
 * - Sum over leading axes (bias gradients) in float64.
 *
 * All are deterministic: fixed chunking, and XNNPACK gives each output to one thread with one
 * summation order, whatever the thread count.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export type Shape4 = [number, number, number, number];

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

function call(
  backend: tf.KernelBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const kernelFunc = tf.getKernel(name, "wasm")!.kernelFunc;
  return kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

const dispose = (backend: tf.KernelBackend, tensors: TensorInfo[]) =>
  tensors.forEach((t) => backend.disposeData(t.dataId));

/**
 * Rows [from, from + count) of t [1, K, C] as a new tensor, copied within the wasm heap (the
 * stock Slice kernel first copies all of t out of the heap).
 */
function rowsOf(backend: BackendWasm, t: TensorInfo, from: number, count: number): TensorInfo {
  const c = t.shape[2];
  const out = backend.makeOutput([1, count, c], "float32");
  // Views after the allocation: it may grow the heap, which detaches older views.
  const source = backend.typedArrayFromHeap(t) as Float32Array;
  (backend.typedArrayFromHeap(out) as Float32Array).set(
    source.subarray(from * c, (from + count) * c),
  );
  return out;
}

/**
 * C = Aᵀ·B for A [K, M], B [K, N] on the wasm backend (`matMul`: its stock BatchMatMul, which
 * takes neither operand transposed), K split into chunks of `chunkRows`; returns C [M, N].
 */
export function transposedAMatMul(
  backend: BackendWasm,
  matMul: KernelFunc,
  a: TensorInfo,
  b: TensorInfo,
  chunkRows: number,
): Float32Array {
  const [k, m] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const a3 = { ...a, shape: [1, k, m] };
  const b3 = { ...b, shape: [1, k, n] };
  const sum = new Float64Array(m * n);
  for (let k0 = 0; k0 < k; k0 += chunkRows) {
    const rows = Math.min(chunkRows, k - k0);
    const aPart = rows === k ? a3 : rowsOf(backend, a3, k0, rows);
    const bPart = rows === k ? b3 : rowsOf(backend, b3, k0, rows);
    const aT = call(backend, "Transpose", { x: aPart }, { perm: [0, 2, 1] });
    const out = matMul({
      inputs: { a: aT, b: bPart },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    const part = backend.readSync(out.dataId) as Float32Array;
    for (let i = 0; i < part.length; i++) sum[i] += part[i];
    dispose(backend, [aT, out, ...(rows === k ? [] : [aPart, bPart])]);
  }
  return Float32Array.from(sum);
}

/**
 * Patches of at most this many values (kh·kw·cin) go by im2col: the convolution below then has
 * so few output rows that streaming its 25 MB filter (dy) dominates (4×7 1→64 on 28×28: 1.4×
 * slower than im2col).
 */
const SMALL_PATCH = 64;

/** im2col(x) [batch·oh·ow, kh·kw·cin], zero outside x. */
function patches(x: Float32Array, g: ConvGeometry): Float32Array {
  const [, height, width, cin] = g.x;
  const [batch, outH, outW] = g.dy;
  const k = g.kh * g.kw * cin;
  const cols = new Float32Array(batch * outH * outW * k);
  let to = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideY + ky - g.top;
          for (let kx = 0; kx < g.kw; kx++, to += cin) {
            const ix = ox * g.strideX + kx - g.left;
            if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
            const from = ((b * height + iy) * width + ix) * cin;
            for (let c = 0; c < cin; c++) cols[to + c] = x[from + c];
          }
        }
      }
    }
  }
  return cols;
}

/**
 * A dy of more values than this (16 MiB) is split into convolutions of about 1 MiB of dy rows
 * each: 3×3 64→64 on 28×28 (one dy row of 229,376 values per convolution) was 1.1–1.35× faster
 * than one convolution over all of dy (25 MB), while smaller dy (14×14, 7×7) lost ~4% by it.
 */
export const FILTER_SPLIT = { above: 1 << 22, chunkValues: 1 << 18 };

/** The filter gradient [kh, kw, cin, cout] on the wasm backend (see the file's comment). */
export function filterGrad(
  backend: BackendWasm,
  matMul: KernelFunc,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  split = FILTER_SPLIT,
): TensorInfo {
  const [batch, height, width, cin] = g.x;
  const [, outH, outW, cout] = g.dy;
  const filterShape = [g.kh, g.kw, cin, cout];
  if (
    g.kh === 1 && g.kw === 1 && g.strideY === 1 && g.strideX === 1 && g.top === 0 &&
    g.left === 0 && outH === height && outW === width
  ) {
    // A plain product: dW = xᵀ·dy over the batch·H·W positions.
    const positions = batch * height * width;
    const values = transposedAMatMul(
      backend,
      matMul,
      { ...x, shape: [positions, cin] },
      { ...dy, shape: [positions, cout] },
      positions,
    );
    return {
      dataId: backend.write(values, filterShape, "float32"),
      shape: filterShape,
      dtype: "float32",
    };
  }
  const k = g.kh * g.kw * cin;
  if (k <= SMALL_PATCH) {
    // Few values per patch (a first layer): dW = im2col(x)ᵀ·dy, the patches built here.
    const cols = patches(backend.typedArrayFromHeap(x) as Float32Array, g);
    const positions = batch * outH * outW;
    const colsInfo = {
      dataId: backend.write(cols, [positions, k], "float32"),
      shape: [positions, k],
      dtype: "float32" as const,
    };
    const values = transposedAMatMul(
      backend,
      matMul,
      colsInfo,
      { ...dy, shape: [positions, cout] },
      positions,
    );
    dispose(backend, [colsInfo]);
    return {
      dataId: backend.write(values, filterShape, "float32"),
      shape: filterShape,
      dtype: "float32",
    };
  }
  // The padding after x that makes the output exactly kh × kw; rows and columns of x that no
  // tap reaches (a `valid` convolution that does not fit exactly) are cut off instead.
  const bottom = g.kh + g.strideY * (outH - 1) - height - g.top;
  const right = g.kw + g.strideX * (outW - 1) - width - g.left;
  const cut = bottom < 0 || right < 0;
  const used = cut
    ? call(backend, "Slice", { x }, {
      begin: [0, 0, 0, 0],
      size: [batch, height + Math.min(bottom, 0), width + Math.min(right, 0), cin],
    })
    : x;
  const [, usedH, usedW] = used.shape;
  const xT = call(backend, "Transpose", { x: used }, { perm: [3, 1, 2, 0] });
  const dyT = call(backend, "Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
  // By chunks of dy rows, so that each convolution's filter (part of dy) stays in L2.
  const rowValues = outW * batch * cout;
  const chunk = outH * rowValues > split.above
    ? Math.max(1, Math.floor(split.chunkValues / rowValues))
    : outH;
  const plane = usedH * usedW * batch;
  const sum = new Float64Array(cin * g.kh * g.kw * cout);
  for (let r0 = 0; r0 < outH; r0 += chunk) {
    const rows = Math.min(chunk, outH - r0);
    // The rows of x these dy rows reach, and the zero padding either side.
    const first = r0 * g.strideY - g.top;
    const last = (r0 + rows - 1) * g.strideY - g.top + g.kh - 1;
    const lo = Math.max(0, first);
    const hi = Math.min(usedH - 1, last);
    if (lo > hi) continue; // only padding: adds nothing
    const n = hi - lo + 1;
    const xPart = backend.makeOutput([cin, n, usedW, batch], "float32");
    const dyPart = backend.makeOutput([rows, outW, batch, cout], "float32");
    const xFrom = backend.typedArrayFromHeap(xT) as Float32Array;
    const xTo = backend.typedArrayFromHeap(xPart) as Float32Array;
    const run = n * usedW * batch;
    for (let c = 0; c < cin; c++) {
      const from = c * plane + lo * usedW * batch;
      xTo.set(xFrom.subarray(from, from + run), c * run);
    }
    (backend.typedArrayFromHeap(dyPart) as Float32Array).set(
      (backend.typedArrayFromHeap(dyT) as Float32Array).subarray(
        r0 * rowValues,
        (r0 + rows) * rowValues,
      ),
    );
    const out = call(backend, "Conv2D", { x: xPart, filter: dyPart }, {
      strides: 1,
      dilations: [g.strideY, g.strideX],
      pad: [[0, 0], [lo - first, last - hi], [g.left, Math.max(right, 0)], [0, 0]],
      dataFormat: "NHWC",
    });
    const part = backend.readSync(out.dataId) as Float32Array;
    for (let i = 0; i < part.length; i++) sum[i] += part[i];
    dispose(backend, [xPart, dyPart, out]);
  }
  dispose(backend, [xT, dyT, ...(cut ? [used] : [])]);
  // [cin, kh, kw, cout] → [kh, kw, cin, cout]
  const taps = g.kh * g.kw;
  const dw = new Float32Array(sum.length);
  for (let c = 0; c < cin; c++) {
    for (let t = 0; t < taps; t++) {
      for (let o = 0; o < cout; o++) dw[(t * cin + c) * cout + o] = sum[(c * taps + t) * cout + o];
    }
  }
  return {
    dataId: backend.write(dw, filterShape, "float32"),
    shape: filterShape,
    dtype: "float32",
  };
}

/** One output phase of a strided input gradient along one axis (see {@link inputGrad}). */
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
    if (count > 0 && taps > 0) phases.push({ r, taps, q0, count });
  }
  return phases;
}

/**
 * The rows of dy one phase reads, P[t] = dy[q0 − (taps − 1) + t] for t < count + taps − 1, as
 * the part of dy inside and the zero padding either side.
 */
function phaseWindow(p: AxisPhase, size: number) {
  const first = p.q0 - (p.taps - 1);
  const last = p.q0 + p.count - 1;
  const begin = Math.max(first, 0);
  return {
    begin,
    size: Math.min(last, size - 1) - begin + 1,
    pad: [begin - first, Math.max(0, last - size + 1)],
  };
}

/**
 * The input gradient dx[i] = Σ_{o·s + k − pad = i} dy[o]·W[k] [batch, H, W, cin], split by the
 * phase of i + pad modulo the stride: within a phase only the taps r, r + s, … contribute, and
 * dx is a stride-1 convolution of dy (zero-padded by XNNPACK) with those taps flipped. A stride
 * of 1 is one phase; stride 2 is four convolutions with a quarter of the taps each, so no
 * multiplication by an inserted zero is ever done.
 */
export function inputGrad(
  backend: BackendWasm,
  dy: TensorInfo,
  w: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const [batch, height, width, cin] = g.x;
  const [, outH, outW, cout] = g.dy;
  const weights = backend.readSync(w.dataId) as Float32Array;
  const single = g.strideY === 1 && g.strideX === 1;
  const dx = single ? null : new Float32Array(batch * height * width * cin);
  for (const py of axisPhases(height, g.kh, g.strideY, g.top)) {
    const rows = phaseWindow(py, outH);
    for (const px of axisPhases(width, g.kw, g.strideX, g.left)) {
      const cols = phaseWindow(px, outW);
      if (rows.size <= 0 || cols.size <= 0) continue; // only padding: dx = 0 there
      // F[t, u, co, ci] = W[r + (taps − 1 − t)·s, …, ci, co].
      const filter = new Float32Array(py.taps * px.taps * cout * cin);
      for (let t = 0; t < py.taps; t++) {
        const ky = py.r + (py.taps - 1 - t) * g.strideY;
        for (let u = 0; u < px.taps; u++) {
          const kx = px.r + (px.taps - 1 - u) * g.strideX;
          const to = (t * px.taps + u) * cout * cin;
          const from = (ky * g.kw + kx) * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            for (let co = 0; co < cout; co++) {
              filter[to + co * cin + ci] = weights[from + ci * cout + co];
            }
          }
        }
      }
      const filterShape = [py.taps, px.taps, cout, cin];
      const f = {
        dataId: backend.write(filter, filterShape, "float32"),
        shape: filterShape,
        dtype: "float32" as const,
      };
      const whole = rows.size === outH && cols.size === outW;
      const part = whole ? dy : call(backend, "Slice", { x: dy }, {
        begin: [0, rows.begin, cols.begin, 0],
        size: [batch, rows.size, cols.size, cout],
      });
      const out = call(backend, "Conv2D", { x: part, filter: f }, {
        strides: 1,
        dilations: 1,
        pad: [[0, 0], rows.pad, cols.pad, [0, 0]],
        dataFormat: "NHWC",
      });
      dispose(backend, [f, ...(whole ? [] : [part])]);
      if (dx === null) return out; // one phase covering all of dx
      const values = backend.typedArrayFromHeap(out) as Float32Array;
      for (let b = 0; b < batch; b++) {
        for (let qy = 0; qy < py.count; qy++) {
          const iy = (py.q0 + qy) * g.strideY + py.r - g.top;
          for (let qx = 0; qx < px.count; qx++) {
            const ix = (px.q0 + qx) * g.strideX + px.r - g.left;
            const from = ((b * py.count + qy) * px.count + qx) * cin;
            const to = ((b * height + iy) * width + ix) * cin;
            for (let c = 0; c < cin; c++) dx[to + c] = values[from + c];
          }
        }
      }
      dispose(backend, [out]);
    }
  }
  const xShape = [batch, height, width, cin];
  return { dataId: backend.write(dx!, xShape, "float32"), shape: xShape, dtype: "float32" };
}

/**
 * Σ of x [rows, …] over its leading `lead` axes (a bias gradient: batch·H·W rows of C values), in
 * float64, row by row. tfjs-wasm's Sum transposes the reduced axes to the end first (a strided
 * copy of all of x) and then sums in float32.
 */
export function leadingSum(
  backend: BackendWasm,
  x: TensorInfo,
  lead: number,
  keepDims: boolean,
): TensorInfo {
  const kept = x.shape.slice(lead);
  const cols = kept.reduce((a, b) => a * b, 1);
  const values = backend.typedArrayFromHeap(x) as Float32Array;
  const sum = new Float64Array(cols);
  for (let from = 0; from < values.length; from += cols) {
    for (let c = 0; c < cols; c++) sum[c] += values[from + c];
  }
  const shape = keepDims ? [...x.shape.slice(0, lead).map(() => 1), ...kept] : kept;
  return {
    dataId: backend.write(Float32Array.from(sum), shape, "float32"),
    shape,
    dtype: "float32",
  };
}
