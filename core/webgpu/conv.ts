/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for tfjs-webgpu as implicit GEMMs
 * ({@link runGemm}): the im2col matrix is gathered tile by tile into workgroup memory, never
 * materialised. Only NHWC float32 is handled here; anything else goes to tfjs's own kernel.
 *
 * - forward:  M = B·OH·OW, N = outC, K = KH·KW·inC
 * - backprop input (also conv2dTranspose): M = B·H·W, N = inC, K = KH·KW·outC
 * - backprop filter: M = KH·KW·inC, N = outC, K = B·OH·OW — a small output with a huge K,
 *   computed with split-K and a deterministic second pass.
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

/** The forward convolution as a GEMM spec. */
export function conv2dSpec(info: Conv2DInfo): GemmSpec {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } =
    info;
  const { filterHeight: KH, filterWidth: KW, outChannels: F, strideHeight: SH, strideWidth: SW } =
    info;
  const { dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top, PL = info.padInfo.left;
  const loadA = `
  let b = m / ${OH * OW}; let p = m % ${OH * OW}; let oh = p / ${OW}; let ow = p % ${OW};
  let kh = k / ${KW * C}; let q = k % ${KW * C}; let kw = q / ${C}; let c = q % ${C};
  let ih = oh * ${SH} - ${PT} + kh * ${DH}; let iw = ow * ${SW} - ${PL} + kw * ${DW};
  if (!(${inside("ih", H)} && ${inside("iw", W)})) { return 0.0; }
  return xIn[((b * ${H} + ih) * ${W} + iw) * ${C} + c];`;
  const loadB = `  return wIn[k * ${F} + n];`;
  return {
    M: B * OH * OW,
    N: F,
    K: KH * KW * C,
    inputs: ["xIn", "wIn"],
    loadA,
    loadB,
    orderA: "k",
    key: `conv_${[B, H, W, C, KH, KW, F, SH, SW, DH, DW, PT, PL, OH, OW].join("_")}`,
  };
}

/** dx of a convolution (= conv2dTranspose of dy) as a GEMM spec. */
export function conv2dBackpropInputSpec(info: Conv2DInfo): GemmSpec {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } =
    info;
  const { filterHeight: KH, filterWidth: KW, outChannels: F, strideHeight: SH, strideWidth: SW } =
    info;
  const PT = info.padInfo.top, PL = info.padInfo.left;
  // dx[b,ih,iw,c] = Σ dy[b,oh,ow,f]·w[kh,kw,c,f] over ih = oh·SH − PT + kh, iw likewise.
  const strideTest = [
    SH > 1 ? `th % ${SH} != 0` : "",
    SW > 1 ? `tw % ${SW} != 0` : "",
  ].filter(Boolean);
  const loadA = `
  let b = m / ${H * W}; let p = m % ${H * W}; let ih = p / ${W}; let iw = p % ${W};
  let kh = k / ${KW * F}; let q = k % ${KW * F}; let kw = q / ${F}; let f = q % ${F};
  let th = ih + ${PT} - kh; let tw = iw + ${PL} - kw;
  if (th < 0 || tw < 0) { return 0.0; }
  ${strideTest.length ? `if (${strideTest.join(" || ")}) { return 0.0; }` : ""}
  let oh = th / ${SH}; let ow = tw / ${SW};
  if (oh >= ${OH} || ow >= ${OW}) { return 0.0; }
  return dyIn[((b * ${OH} + oh) * ${OW} + ow) * ${F} + f];`;
  const loadB = `
  let kh = k / ${KW * F}; let q = k % ${KW * F}; let kw = q / ${F}; let f = q % ${F};
  return wIn[((kh * ${KW} + kw) * ${C} + n) * ${F} + f];`;
  return {
    M: B * H * W,
    N: C,
    K: KH * KW * F,
    inputs: ["dyIn", "wIn"],
    loadA,
    loadB,
    orderA: "k",
    key: `convdx_${[B, H, W, C, KH, KW, F, SH, SW, PT, PL, OH, OW].join("_")}`,
  };
}

/** dW of a convolution as a GEMM spec (K runs over batch and output pixels). */
export function conv2dBackpropFilterSpec(info: Conv2DInfo): GemmSpec {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } =
    info;
  const { filterHeight: KH, filterWidth: KW, outChannels: F, strideHeight: SH, strideWidth: SW } =
    info;
  const PT = info.padInfo.top, PL = info.padInfo.left;
  const loadA = `
  let kh = m / ${KW * C}; let q = m % ${KW * C}; let kw = q / ${C}; let c = q % ${C};
  let b = k / ${OH * OW}; let p = k % ${OH * OW}; let oh = p / ${OW}; let ow = p % ${OW};
  let ih = oh * ${SH} - ${PT} + kh; let iw = ow * ${SW} - ${PL} + kw;
  if (!(${inside("ih", H)} && ${inside("iw", W)})) { return 0.0; }
  return xIn[((b * ${H} + ih) * ${W} + iw) * ${C} + c];`;
  const loadB = `  return dyIn[k * ${F} + n];`;
  return {
    M: KH * KW * C,
    N: F,
    K: B * OH * OW,
    inputs: ["xIn", "dyIn"],
    loadA,
    loadB,
    orderA: "mn",
    key: `convdw_${[B, H, W, C, KH, KW, F, SH, SW, PT, PL, OH, OW].join("_")}`,
  };
}

/** Conv2D kernel: ours for NHWC float32, tfjs's otherwise. */
export function conv2dKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { x, filter } = inputs;
    const a = attrs as unknown as {
      strides: number | [number, number];
      pad: "valid" | "same" | number | backend_util.ExplicitPadding;
      dataFormat: "NHWC" | "NCHW";
      dilations: number | [number, number];
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    const spec = conv2dSpec(info);
    if (!supported(info, [x, filter]) || !gemmFits(spec.M, spec.N)) return stock(args);
    if (spec.N < MIN_GEMM_CHANNELS) return stock(args);
    return runGemm(backend as WebGPUBackend, spec, [x, filter], info.outShape);
  };
}

/** Conv2DBackpropInput kernel (the gradient of conv2d w.r.t. x, and conv2dTranspose). */
export function conv2dBackpropInputKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { dy, filter } = inputs;
    const a = attrs as unknown as {
      inputShape: [number, number, number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number | backend_util.ExplicitPadding;
      dataFormat: "NHWC" | "NCHW";
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    const spec = conv2dBackpropInputSpec(info);
    if (!supported(info, [dy, filter]) || !gemmFits(spec.M, spec.N)) return stock(args);
    if (spec.N < MIN_GEMM_CHANNELS) return stock(args);
    return runGemm(backend as WebGPUBackend, spec, [dy, filter], info.inShape);
  };
}

/** Conv2DBackpropFilter kernel (split-K with a deterministic reduction). */
export function conv2dBackpropFilterKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { x, dy } = inputs;
    const a = attrs as unknown as {
      filterShape: [number, number, number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number | backend_util.ExplicitPadding;
      dataFormat: "NHWC" | "NCHW";
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    const spec = conv2dBackpropFilterSpec(info);
    if (!supported(info, [x, dy]) || !gemmFits(spec.M, spec.N)) return stock(args);
    return runGemm(backend as WebGPUBackend, spec, [x, dy], info.filterShape);
  };
}
