/**
 * A generated, register-tiled GEMM for tfjs-webgpu: C[M,N] = Σ_k A[m,k]·B[k,n], where A and B
 * are not tensors but WGSL functions `loadA(m, k)` and `loadB(k, n)` over the program's inputs.
 * That makes one kernel serve as an implicit GEMM for a convolution and both of its gradients
 * (the im2col matrix is never built) and as a plain matmul.
 *
 * Tiles go through workgroup memory; each thread keeps TM×TN accumulators in separate `vec4`
 * variables with literal names (generated from TypeScript), because a dynamically indexed private
 * array spills to memory and ran 10× slower in our probe. All shape constants are baked into the
 * WGSL, so every shape gets its own pipeline (tfjs caches them by `shaderKey`).
 *
 * Split-K: when the output has too few tiles to fill the GPU and K is large (a filter gradient:
 * 576×64 outputs, K = 100,352), the K range is cut into S chunks that write S partial outputs,
 * and a second pass sums them in a fixed order. No atomics anywhere: results are bit-identical
 * run to run.
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";

/** How threads walk a tile while loading it: along k (contiguous k in memory) or along m/n. */
export type LoadOrder = "k" | "mn";

/** One GEMM whose operands are gathered by WGSL code. */
export interface GemmSpec {
  /** Rows of the output. */
  M: number;
  /** Columns of the output. */
  N: number;
  /** The reduction length. */
  K: number;
  /** Names of the input bindings, in the order of the tensors passed to {@link runGemm}. */
  inputs: string[];
  /** WGSL body of `fn loadA(m: i32, k: i32) -> f32`; called only with m < M and k < K. */
  loadA: string;
  /** WGSL body of `fn loadB(k: i32, n: i32) -> f32`; called only with k < K and n < N. */
  loadB: string;
  /** Which way adjacent threads step when loading A (the faster-varying memory index). */
  orderA: LoadOrder;
  /** A string that identifies loadA/loadB and their constants (part of the pipeline key). */
  key: string;
  /**
   * WGSL body of `fn finish(m: i32, n: i32, v: f32) -> f32`, applied to each output as it is
   * written (a bias and an activation). A GEMM with one never splits K: it is one dispatch.
   */
  epilogue?: string;
  /** WGSL functions that loadA, loadB or the epilogue call. */
  helpers?: string;
}

/** The tile shape of one generated kernel. */
export interface TileConfig {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

const THREADS = 256;

/**
 * `large`: the tiles for a real GPU. `small`: tiles with 1 KB of workgroup memory, for software
 * adapters — llvmpipe's shader compile time grows much faster than linearly with the size of
 * workgroup arrays (measured: 2 KB ≈ 2 s, 8 KB ≈ 50 s, 16 KB ≈ 4 min on the CI machine), while
 * the generated code is the same apart from the constants.
 */
export type TileMode = "large" | "small";

let tileMode: TileMode = "large";

/** Choose the tile family for all later kernels (install() does this from the adapter). */
export function setTileMode(mode: TileMode): void {
  tileMode = mode;
}

/** The tile family in use. */
export function getTileMode(): TileMode {
  return tileMode;
}

/** Pick a tile for an output of width N: 64 wide when N allows, narrower for thin outputs. */
export function chooseTile(N: number): TileConfig {
  if (tileMode === "small") return { BM: 64, BN: 16, BK: 4, TM: 1, TN: 4 };
  if (N > 32) return { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 };
  if (N > 16) return { BM: 128, BN: 32, BK: 16, TM: 4, TN: 4 };
  if (N > 8) return { BM: 128, BN: 16, BK: 16, TM: 2, TN: 4 };
  if (N > 4) return { BM: 128, BN: 8, BK: 16, TM: 1, TN: 4 };
  return { BM: 256, BN: 4, BK: 8, TM: 1, TN: 4 };
}

/**
 * How many K chunks to use: enough workgroups to fill a large GPU (~4 per SM on 132 SMs),
 * but each chunk at least 8 tiles deep. Depends only on the shape, so it is deterministic.
 */
export function chooseSplit(M: number, N: number, K: number, tile: TileConfig): number {
  const tiles = Math.ceil(M / tile.BM) * Math.ceil(N / tile.BN);
  const target = 512;
  if (tiles >= target / 2) return 1;
  const maxByDepth = Math.floor(K / (tile.BK * 8));
  return Math.max(1, Math.min(Math.ceil(target / tiles), maxByDepth, 256));
}

/** The K range of each split chunk: a multiple of BK. */
function chunkLength(K: number, splits: number, BK: number): number {
  return Math.ceil(K / splits / BK) * BK;
}

/** The tfjs dispatch layout that keeps its generated helpers consistent with an output rank. */
function layoutFor(rank: number): WebGPUProgram["dispatchLayout"] {
  if (rank <= 1) return { x: [], y: [0] };
  return { x: [rank - 1], y: [rank - 2], z: Array.from({ length: rank - 2 }, (_, i) => i) };
}

/** The WGSL of one GEMM (or one split-K partial pass when `splits > 1`). */
export function gemmSource(spec: GemmSpec, tile: TileConfig, splits: number): string {
  const { M, N, K } = spec;
  const { BM, BN, BK, TM, TN } = tile;
  const tx = BN / TN, ty = BM / TM;
  if (tx * ty !== THREADS) throw new Error(`gemm: tile ${BM}x${BN}/${TM}x${TN} needs 256 threads`);
  if (TN !== 4) throw new Error("gemm: TN must be 4");
  const chunk = splits > 1 ? chunkLength(K, splits, BK) : K;
  const lines: string[] = [];
  if (spec.helpers) lines.push(spec.helpers);
  lines.push(`fn loadA(m: i32, k: i32) -> f32 {\n${spec.loadA}\n}`);
  lines.push(`fn loadB(k: i32, n: i32) -> f32 {\n${spec.loadB}\n}`);
  if (spec.epilogue) lines.push(`fn finish(m: i32, n: i32, v: f32) -> f32 {\n${spec.epilogue}\n}`);
  const out = (n: string, v: string) => spec.epilogue ? `finish(m, ${n}, ${v})` : v;
  lines.push(`var<workgroup> As: array<f32, ${BK * (BM + 1)}>;`);
  lines.push(`var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;`);
  const body: string[] = [];
  // tfjs binds its uniform buffer; a static use keeps it in the 'auto' pipeline layout.
  body.push(`_ = uniforms.NAN;`);
  body.push(`let tid = i32(localIndex);`);
  body.push(`let tx = tid % ${tx}; let ty = tid / ${tx};`);
  body.push(`let col0 = i32(workgroupId.x) * ${BN}; let row0 = i32(workgroupId.y) * ${BM};`);
  if (splits > 1) {
    body.push(`let kBegin = i32(workgroupId.z) * ${chunk};`);
    body.push(`let kEnd = min(kBegin + ${chunk}, ${K});`);
  } else {
    body.push(`let kBegin = 0; let kEnd = ${K};`);
  }
  for (let i = 0; i < TM; i++) body.push(`var c${i} = vec4<f32>(0.0);`);
  // Load assignment for A: each thread loads loadsA elements per K-step. As rows are padded
  // by one float so that threads storing along k hit different banks.
  const loadsA = Math.ceil((BK * BM) / THREADS);
  const SA = BM + 1;
  const loop: string[] = [];
  // On a GPU the loads are unrolled (so the compiler can hoist each row's index arithmetic out
  // of the K loop); for llvmpipe they stay WGSL loops, which it compiles much faster.
  const unroll = tileMode === "large";
  const loadLoop = (perJ: (j: string) => string) =>
    unroll
      ? Array.from({ length: loadsA }, (_, j) => `{ ${perJ(String(j))} }`).join("\n")
      : `for (var j = 0; j < ${loadsA}; j++) { ${perJ("j")} }`;
  const store = `let m = row0 + r; let k = k0 + kk;
      var v = 0.0; if (m < ${M} && k < kEnd) { v = loadA(m, k); }
      As[kk * ${SA} + r] = v;`;
  if (spec.orderA === "k") {
    if (THREADS % BK !== 0) throw new Error("gemm: BK must divide 256");
    loop.push(
      loadLoop((j) =>
        `let kk = tid % ${BK}; let r = tid / ${BK} + ${j} * ${THREADS / BK};\n      ${store}`
      ),
    );
  } else {
    if (THREADS % BM !== 0) throw new Error("gemm: BM must divide 256");
    loop.push(
      loadLoop((j) =>
        `let r = tid % ${BM}; let kk = tid / ${BM} + ${j} * ${THREADS / BM};\n      ${store}`
      ),
    );
  }
  const quads = BN / 4;
  loop.push(`for (var e = tid; e < ${BK * quads}; e += ${THREADS}) {
      let q = e % ${quads}; let kk = e / ${quads}; let k = k0 + kk;
      let n = col0 + q * 4; var v = vec4<f32>(0.0);
      if (k < kEnd) {
        if (n < ${N}) { v.x = loadB(k, n); }
        if (n + 1 < ${N}) { v.y = loadB(k, n + 1); }
        if (n + 2 < ${N}) { v.z = loadB(k, n + 2); }
        if (n + 3 < ${N}) { v.w = loadB(k, n + 3); }
      }
      Bs[kk * ${quads} + q] = v; }`);
  loop.push(`workgroupBarrier();`);
  for (let k = 0; k < BK; k++) {
    loop.push(`{ let b = Bs[${(k * BN) / 4} + tx];`);
    for (let i = 0; i < TM; i++) {
      loop.push(`  c${i} = fma(vec4<f32>(As[${k * SA} + ty * ${TM} + ${i}]), b, c${i});`);
    }
    loop.push(`}`);
  }
  loop.push(`workgroupBarrier();`);
  body.push(`for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}) {\n${loop.join("\n")}\n}`);
  const base = splits > 1 ? `i32(workgroupId.z) * ${M * N} + ` : "";
  for (let i = 0; i < TM; i++) {
    body.push(`{ let m = row0 + ty * ${TM} + ${i}; let n = col0 + tx * 4;
      if (m < ${M}) {
        let o = ${base}m * ${N} + n;
        if (n < ${N}) { result[o] = ${out("n", `c${i}.x`)}; }
        if (n + 1 < ${N}) { result[o + 1] = ${out("n + 1", `c${i}.y`)}; }
        if (n + 2 < ${N}) { result[o + 2] = ${out("n + 2", `c${i}.z`)}; }
        if (n + 3 < ${N}) { result[o + 3] = ${out("n + 3", `c${i}.w`)}; }
      } }`);
  }
  lines.push(`fn main() {\n${body.join("\n")}\n}`);
  return lines.join("\n");
}

/** A tfjs-webgpu program around generated code. */
function program(
  outputShape: number[],
  variableNames: string[],
  dispatch: [number, number, number],
  key: string,
  code: string,
): WebGPUProgram {
  return {
    outputShape,
    variableNames,
    dispatch,
    dispatchLayout: layoutFor(outputShape.length),
    workgroupSize: [THREADS, 1, 1],
    shaderKey: `genbench_${key}`,
    getUserCode: () => code,
  };
}

/** The second split-K pass: out[i] = Σ_s partial[s, i], summed in order s = 0, 1, …. */
function reduceSource(splits: number, size: number, cols: number): string {
  return `fn main() {
  _ = uniforms.NAN;
  let i = (i32(workgroupId.y) * ${cols} + i32(workgroupId.x)) * ${THREADS} + i32(localIndex);
  if (i >= ${size}) { return; }
  var s = 0.0;
  for (var j = 0; j < ${splits}; j++) { s = s + partials[j * ${size} + i]; }
  result[i] = s;
}`;
}

/** Dispatch a 1-D job of `size` threads as a 2-D grid under the 65,535-per-dimension limit. */
function grid1d(size: number): [number, number, number] {
  const groups = Math.ceil(size / THREADS);
  const cols = Math.min(groups, 32768);
  return [cols, Math.ceil(groups / cols), 1];
}

/** Whether {@link runGemm} can run this shape (dispatch limits). */
export function gemmFits(M: number, N: number): boolean {
  const tile = chooseTile(N);
  return Math.ceil(M / tile.BM) <= 65535 && Math.ceil(N / tile.BN) <= 65535;
}

/**
 * Run the GEMM on the webgpu backend; the result has `outShape` (whose size is M·N, row-major
 * [M, N]). `splitOverride` forces the number of K chunks (tests use it).
 */
export function runGemm(
  backend: WebGPUBackend,
  spec: GemmSpec,
  inputs: TensorInfo[],
  outShape: number[],
  splitOverride?: number,
): TensorInfo {
  const tile = chooseTile(spec.N);
  const splits = spec.epilogue ? 1 : Math.max(
    1,
    Math.min(
      splitOverride ?? chooseSplit(spec.M, spec.N, spec.K, tile),
      Math.ceil(spec.K / tile.BK),
    ),
  );
  const chunk = chunkLength(spec.K, splits, tile.BK);
  const used = Math.ceil(spec.K / chunk); // chunks that hold at least one k
  const dispatch: [number, number, number] = [
    Math.ceil(spec.N / tile.BN),
    Math.ceil(spec.M / tile.BM),
    used,
  ];
  const key = `gemm_${spec.key}_${spec.M}_${spec.N}_${spec.K}_${used}_${
    Object.values(tile).join("x")
  }`;
  if (used === 1) {
    const code = gemmSource(spec, tile, 1);
    return backend.runWebGPUProgram(
      program(outShape, spec.inputs, dispatch, key, code),
      inputs,
      "float32",
      [],
    );
  }
  const code = gemmSource(spec, tile, splits);
  const partials = backend.runWebGPUProgram(
    program([used, spec.M, spec.N], spec.inputs, dispatch, key, code),
    inputs,
    "float32",
    [],
  );
  const size = spec.M * spec.N;
  const reduceGrid = grid1d(size);
  const out = backend.runWebGPUProgram(
    program(
      outShape,
      ["partials"],
      reduceGrid,
      `splitk_reduce_${used}_${size}_${reduceGrid[0]}`,
      reduceSource(used, size, reduceGrid[0]),
    ),
    [partials],
    "float32",
    [],
  );
  backend.disposeData(partials.dataId);
  return out;
}
