/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for tfjs-webgpu as implicit GEMMs
 * ({@link runGemm}): the im2col matrix is gathered tile by tile into workgroup memory, never
 * materialised. Only NHWC float32 is handled here; anything else goes to tfjs's own kernel.
 * The three share one WGSL generator ({@link convGather}) and one kernel wrapper; the GEMM
 * shapes are listed at {@link convSpec}.
 */
import { backend_util } from "@tensorflow/tfjs-core";
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { gemmFits, type GemmSpec, runGemm } from "./gemm.ts";

type Conv2DInfo = backend_util.Conv2DInfo;

/** Arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: NamedAttrMap;
}

function supported(info: Conv2DInfo, tensors: TensorInfo[]): boolean {
  return info.dataFormat === "channelsLast" &&
    tensors.every((t) => t.dtype === "float32");
}

/**
 * Outputs narrower than this many channels (a deconv to 1 channel) waste most of a 4-wide
 * tile; tfjs's own conv2d and conv2dTranspose programs, which use no atomics, were 7× faster
 * there on an H100, so those stay with tfjs.
 */
export const MIN_GEMM_CHANNELS = 4;

/** Bounds test of an input row/column, omitted when padding makes it impossible. */
function inside(v: string, size: number): string {
  return `${v} >= 0 && ${v} < ${size}`;
}

/** WGSL that splits the flat index `flat` into coordinates a, b, c of extents [·, nb, nc]. */
function split3(flat: string, [a, t, b, c]: string[], nb: number, nc: number): string {
  return `let ${a} = ${flat} / ${nb * nc}; let ${t} = ${flat} % ${nb * nc}; ` +
    `let ${b} = ${t} / ${nc}; let ${c} = ${t} % ${nc};`;
}

/** `v` times `d`, written without the product when d = 1. */
function times(v: string, d: number): string {
  return d === 1 ? v : `${v} * ${d}`;
}

/**
 * The one WGSL generator of the three kernels: the implicit-GEMM element that a convolution
 * reads. `im2col` (forward and filter gradient): input pixel x[b, ih, iw, c] for output pixel
 * `pixel` = (b, oh, ow) and filter tap `tap` = (kh, kw, c), or 0 in the padding.
 * `col2im` (input gradient): dy[b, oh, ow, f] for input pixel `pixel` = (b, ih, iw) and tap
 * `tap` = (kh, kw, f) where ih = oh·SH − PT + kh, or 0 where no output pixel maps there.
 */
function convGather(info: Conv2DInfo, kind: "im2col" | "col2im", pixel: string, tap: string) {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterWidth: KW, outChannels: F, strideHeight: SH, strideWidth: SW } = info;
  const { dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top, PL = info.padInfo.left;
  if (kind === "im2col") {
    const lines = [
      split3(pixel, ["b", "p", "oh", "ow"], OH, OW),
      split3(tap, ["kh", "q", "kw", "c"], KW, C),
    ];
    // The forward pass walks pixels in m; the filter gradient walks taps in m.
    if (pixel !== "m") lines.reverse();
    return `
  ${lines.join("\n  ")}
  let ih = oh * ${SH} - ${PT} + ${times("kh", DH)}; let iw = ow * ${SW} - ${PL} + ${
      times("kw", DW)
    };
  if (!(${inside("ih", H)} && ${inside("iw", W)})) { return 0.0; }
  return xIn[((b * ${H} + ih) * ${W} + iw) * ${C} + c];`;
  }
  const strideTest = [
    SH > 1 ? `th % ${SH} != 0` : "",
    SW > 1 ? `tw % ${SW} != 0` : "",
  ].filter(Boolean);
  return `
  ${split3(pixel, ["b", "p", "ih", "iw"], H, W)}
  ${split3(tap, ["kh", "q", "kw", "f"], KW, F)}
  let th = ih + ${PT} - kh; let tw = iw + ${PL} - kw;
  if (th < 0 || tw < 0) { return 0.0; }
  ${strideTest.length ? `if (${strideTest.join(" || ")}) { return 0.0; }` : ""}
  let oh = th / ${SH}; let ow = tw / ${SW};
  if (oh >= ${OH} || ow >= ${OW}) { return 0.0; }
  return dyIn[((b * ${OH} + oh) * ${OW} + ow) * ${F} + f];`;
}

/** The shape constants that name a convolution's pipelines. */
function shapeKey(info: Conv2DInfo, dilations: boolean): string {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } =
    info;
  const { filterHeight: KH, filterWidth: KW, outChannels: F, strideHeight: SH, strideWidth: SW } =
    info;
  const PT = info.padInfo.top, PL = info.padInfo.left;
  const dilation = dilations ? [info.dilationHeight, info.dilationWidth] : [];
  return [B, H, W, C, KH, KW, F, SH, SW, ...dilation, PT, PL, OH, OW].join("_");
}

/** Which of the three convolution kernels: the forward pass or a gradient. */
type ConvPass = "forward" | "input-gradient" | "filter-gradient";

/**
 * One convolution kernel as a GEMM spec.
 * - forward: M = B·OH·OW, N = outC, K = KH·KW·inC (im2col of x times the filter);
 * - input gradient (also conv2dTranspose): M = B·H·W, N = inC, K = KH·KW·outC (col2im of dy
 *   times the filter's transpose);
 * - filter gradient: M = KH·KW·inC, N = outC, K = B·OH·OW (a small output with a huge K,
 *   computed with split-K and a deterministic second pass).
 */
function convSpec(info: Conv2DInfo, pass: ConvPass): GemmSpec {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } =
    info;
  const { filterHeight: KH, filterWidth: KW, outChannels: F } = info;
  const outPixels = B * OH * OW, taps = KH * KW * C;
  if (pass === "forward") {
    const [loadA, loadB] = [convGather(info, "im2col", "m", "k"), `  return wIn[k * ${F} + n];`];
    const key = `conv_${shapeKey(info, true)}`;
    return { M: outPixels, N: F, K: taps, inputs: ["xIn", "wIn"], loadA, loadB, orderA: "k", key };
  }
  if (pass === "filter-gradient") {
    const [loadA, loadB] = [convGather(info, "im2col", "k", "m"), `  return dyIn[k * ${F} + n];`];
    const key = `convdw_${shapeKey(info, false)}`;
    return {
      M: taps,
      N: F,
      K: outPixels,
      inputs: ["xIn", "dyIn"],
      loadA,
      loadB,
      orderA: "mn",
      key,
    };
  }
  const loadB = `
  ${split3("k", ["kh", "q", "kw", "f"], KW, F)}
  return wIn[((kh * ${KW} + kw) * ${C} + n) * ${F} + f];`;
  return {
    M: B * H * W,
    N: C,
    K: KH * KW * F,
    inputs: ["dyIn", "wIn"],
    loadA: convGather(info, "col2im", "m", "k"),
    loadB,
    orderA: "k",
    key: `convdx_${shapeKey(info, false)}`,
  };
}

/** The forward convolution as a GEMM spec. */
export const conv2dSpec = (info: Conv2DInfo): GemmSpec => convSpec(info, "forward");
/** dx of a convolution (= conv2dTranspose of dy) as a GEMM spec. */
export const conv2dBackpropInputSpec = (info: Conv2DInfo): GemmSpec =>
  convSpec(info, "input-gradient");
/** dW of a convolution as a GEMM spec. */
export const conv2dBackpropFilterSpec = (info: Conv2DInfo): GemmSpec =>
  convSpec(info, "filter-gradient");

type Shape4 = [number, number, number, number];
type Dilations = number | [number, number];

/** The attributes tfjs passes to the three convolution kernels. */
interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations?: Dilations;
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape?: Shape4;
  filterShape?: Shape4;
}

/** How each kernel's inputs and attributes give the convolution's geometry. */
const GEOMETRY: Record<
  ConvPass,
  {
    /** The kernel's two tensor inputs, in {@link GemmSpec.inputs} order. */
    operands: [string, string];
    /** The convolution's input and filter shapes and dilations. */
    of(inputs: Record<string, TensorInfo>, attrs: ConvAttrs): [Shape4, Shape4, Dilations];
  }
> = {
  "forward": {
    operands: ["x", "filter"],
    of: ({ x, filter }, a) => [x.shape as Shape4, filter.shape as Shape4, a.dilations ?? 1],
  },
  "input-gradient": {
    operands: ["dy", "filter"],
    of: ({ filter }, a) => [a.inputShape!, filter.shape as Shape4, 1],
  },
  "filter-gradient": {
    operands: ["x", "dy"],
    of: ({ x }, a) => [x.shape as Shape4, a.filterShape!, 1],
  },
};

/**
 * One convolution kernel: ours for NHWC float32 shapes that fit, tfjs's `stock` otherwise.
 * Outputs narrower than {@link MIN_GEMM_CHANNELS} also stay with tfjs, except the filter
 * gradient's (its N is the filter count, and split-K keeps it busy).
 */
function convKernel(stock: KernelFunc, pass: ConvPass): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as ConvAttrs;
    const [inShape, filterShape, dilations] = GEOMETRY[pass].of(inputs, a);
    const info = backend_util.computeConv2DInfo(
      inShape,
      filterShape,
      a.strides,
      dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    const spec = convSpec(info, pass);
    const operands = GEOMETRY[pass].operands.map((name) => inputs[name]);
    if (!supported(info, operands) || !gemmFits(spec.M, spec.N)) return stock(args);
    if (pass !== "filter-gradient" && spec.N < MIN_GEMM_CHANNELS) return stock(args);
    const outShape = pass === "forward"
      ? info.outShape
      : pass === "input-gradient"
      ? info.inShape
      : info.filterShape;
    return runGemm(backend as WebGPUBackend, spec, operands, outShape);
  };
}

/** Conv2D kernel. */
export const conv2dKernel = (stock: KernelFunc): KernelFunc => convKernel(stock, "forward");
/** Conv2DBackpropInput kernel (the gradient of conv2d w.r.t. x, and conv2dTranspose). */
export const conv2dBackpropInputKernel = (stock: KernelFunc): KernelFunc =>
  convKernel(stock, "input-gradient");
/** Conv2DBackpropFilter kernel (split-K with a deterministic reduction). */
export const conv2dBackpropFilterKernel = (stock: KernelFunc): KernelFunc =>
  convKernel(stock, "filter-gradient");
