import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import "../../models/layers/nn.ts"; // registers the gradients
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { FILTER_SPLIT, filterGrad, transposedAMatMul } from "../../core/wasm_kernels.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: [number, number];
  pad: Pad;
}

const CASES: Case[] = [
  { x: [2, 5, 6, 3], w: [3, 3, 3, 4], stride: [1, 1], pad: "same" },
  { x: [1, 7, 5, 2], w: [3, 2, 2, 3], stride: [1, 1], pad: "valid" },
  { x: [2, 7, 7, 3], w: [4, 4, 3, 2], stride: [2, 2], pad: "same" }, // vae-conv, odd size
  { x: [1, 8, 6, 2], w: [4, 4, 2, 3], stride: [2, 2], pad: "same" },
  { x: [2, 9, 7, 1], w: [3, 3, 1, 2], stride: [2, 2], pad: "valid" },
  { x: [1, 6, 7, 2], w: [2, 3, 2, 3], stride: [1, 1], pad: [[0, 0], [1, 0], [1, 1], [0, 0]] }, // pixelcnn
  { x: [2, 5, 5, 1], w: [4, 7, 1, 2], stride: [1, 1], pad: [[0, 0], [3, 0], [3, 3], [0, 0]] },
  { x: [1, 6, 9, 2], w: [3, 3, 2, 2], stride: [1, 2], pad: "same" },
  { x: [1, 7, 7, 2], w: [1, 1, 2, 3], stride: [2, 2], pad: "valid" }, // taps miss some phases
  { x: [1, 8, 7, 1], w: [2, 2, 1, 2], stride: [3, 3], pad: "same" },
  { x: [2, 5, 6, 3], w: [1, 1, 3, 4], stride: [1, 1], pad: "same" }, // wasm: a plain product
  { x: [1, 8, 9, 2], w: [3, 3, 2, 3], stride: [2, 2], pad: "valid" }, // last row, column unused
  // wasm: more than 64 values per patch (kh·kw·cin), the filter gradient as one convolution.
  { x: [2, 6, 5, 8], w: [3, 3, 8, 3], stride: [1, 1], pad: "same" },
  { x: [1, 7, 8, 5], w: [4, 4, 5, 2], stride: [2, 2], pad: "same" },
  { x: [1, 8, 9, 8], w: [3, 3, 8, 2], stride: [2, 2], pad: "valid" },
  // Padding wider than the kernel: some output rows and columns see only zeros.
  { x: [1, 4, 5, 2], w: [2, 2, 2, 3], stride: [1, 1], pad: [[0, 0], [3, 2], [0, 3], [0, 0]] },
  { x: [1, 5, 4, 1], w: [3, 2, 1, 2], stride: [2, 2], pad: [[0, 0], [4, 1], [2, 3], [0, 0]] },
];

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Stream.derive(seed, "host-conv").normalArray(size), shape);
}

/**
 * ∂/∂x and ∂/∂W of L = Σ conv(x, W) ⊙ R, brute force: L is linear in each argument, so each
 * gradient entry is L with that argument replaced by a one-hot tensor, through the forward
 * convolution alone.
 */
function bruteForce(c: Case, x: tf.Tensor, w: tf.Tensor, r: tf.Tensor): Float32Array[] {
  const loss = (a: tf.Tensor, b: tf.Tensor) =>
    tf.tidy(() =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r))
        .dataSync()[0]
    );
  const oneHots = (shape: number[], other: tf.Tensor, first: boolean) => {
    const size = shape.reduce((p, q) => p * q, 1);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const e = tf.tidy(() => tf.reshape(tf.oneHot(i, size, 1, 0, "float32"), shape));
      out[i] = first ? loss(e, other) : loss(other, e);
      e.dispose();
    }
    return out;
  };
  return [oneHots(c.x, w, true), oneHots(c.w, x, false)];
}

function gradients(c: Case, x: tf.Tensor, w: tf.Tensor, r: tf.Tensor): Float32Array[] {
  const loss = (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r));
  const grads = tf.grads(loss)([x, w]);
  const values = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(grads);
  return values;
}

/** Copy tensors to `backend` (selecting it), disposing the originals. */
async function moveTo(backend: "cpu" | "wasm", tensors: tf.Tensor[]): Promise<tf.Tensor[]> {
  const values = tensors.map((t) => ({ v: t.dataSync(), s: t.shape }));
  tf.dispose(tensors);
  await selectBackend(backend);
  return values.map(({ v, s }) => tf.tensor(v, s));
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string) {
  assert.equal(actual.length, expected.length, what);
  const scale = Math.max(1, ...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / scale;
    assert.ok(err <= 1e-5, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`${backend}: conv2d gradients (host kernels) equal a brute-force sum over one-hot inputs`, async () => {
    for (const [n, c] of CASES.entries()) {
      await selectBackend("cpu");
      const [x, w] = [randomTensor(c.x, 3 * n), randomTensor(c.w, 3 * n + 1)];
      const r = tf.tidy(() =>
        randomTensor(
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).shape,
          3 * n + 2,
        )
      );
      const expected = bruteForce(c, x, w, r);
      const [bx, bw, br] = await moveTo(backend, [x, w, r]);
      const before = tf.engine().backend.numDataIds();
      const [dx, dw] = gradients(c, bx, bw, br);
      const again = gradients(c, bx, bw, br);
      assert.equal(tf.engine().backend.numDataIds(), before, "no buffer outlives the kernels");
      tf.dispose([bx, bw, br]);
      const what = `${backend} case ${n} (x ${c.x}, w ${c.w}, stride ${c.stride}, ${
        JSON.stringify(c.pad)
      })`;
      assertClose(dx, expected[0], `${what} dx`);
      assertClose(dw, expected[1], `${what} dW`);
      assert.deepEqual([dx, dw], again, `${what}: same inputs, same bits`);
    }
    await selectBackend("cpu");
  });
}

Deno.test("wasm: conv2dTranspose (the input-gradient kernel) equals cpu's stock result", async () => {
  const shapes = [[2, 3, 4, 5], [1, 7, 7, 4]];
  for (const [n, shape] of shapes.entries()) {
    await selectBackend("cpu");
    const y = randomTensor(shape, 40 + n) as tf.Tensor4D;
    const k = randomTensor([4, 4, 3, shape[3]], 50 + n) as tf.Tensor4D;
    const out: [number, number, number, number] = [shape[0], 2 * shape[1], 2 * shape[2], 3];
    const expected = tf.conv2dTranspose(y, k, out, 2, "same").dataSync() as Float32Array;
    const [wy, wk] = await moveTo("wasm", [y, k]) as tf.Tensor4D[];
    const actual = tf.conv2dTranspose(wy, wk, out, 2, "same");
    assertClose(actual.dataSync() as Float32Array, expected, `transpose ${shape}`);
    tf.dispose([wy, wk, actual]);
  }
  await selectBackend("cpu");
});

Deno.test("wasm: matMul with either transpose flag equals cpu's stock product", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [2, 3, 7], true, true],
    [[2, 5, 7], [1, 7, 3], false, false],
    [[3, 6, 4], [1, 6, 2], true, false],
  ];
  for (const [n, [aShape, bShape, ta, tb]] of cases.entries()) {
    await selectBackend("cpu");
    const [a, b] = [randomTensor(aShape, 60 + n), randomTensor(bShape, 70 + n)];
    const expected = tf.matMul(a, b, ta, tb);
    const want = { values: expected.dataSync() as Float32Array, shape: expected.shape };
    expected.dispose();
    const [wa, wb] = await moveTo("wasm", [a, b]);
    const before = tf.engine().backend.numDataIds();
    const actual = tf.matMul(wa, wb, ta, tb);
    assert.deepEqual(actual.shape, want.shape);
    assertClose(
      actual.dataSync() as Float32Array,
      want.values,
      `matMul ${aShape} ${bShape} ${ta} ${tb}`,
    );
    actual.dispose();
    assert.equal(tf.engine().backend.numDataIds(), before, "no buffer outlives the kernel");
    tf.dispose([wa, wb]);
  }
  await selectBackend("cpu");
});

/** Aᵀ·B in float64, A [k, m] and B [k, n] row-major. */
function transposedAProduct(a: Float32Array, b: Float32Array, k: number, m: number, n: number) {
  const out = new Float64Array(m * n);
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) out[i * n + j] += a[r * m + i] * b[r * n + j];
    }
  }
  return Float32Array.from(out);
}

Deno.test("wasm: Aᵀ·B by chunks of the shared dimension equals a float64 sum, same bits again", async () => {
  await selectBackend("wasm");
  const backend = tf.backend() as BackendWasm;
  const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  for (const [k, m, n, rows] of [[37, 5, 3, 8], [37, 5, 3, 37], [64, 7, 9, 10], [5, 2, 2, 100]]) {
    const [a, b] = [randomTensor([k, m], 80 + k + rows), randomTensor([k, n], 90 + k + rows)];
    const expected = transposedAProduct(
      a.dataSync() as Float32Array,
      b.dataSync() as Float32Array,
      k,
      m,
      n,
    );
    const before = backend.numDataIds();
    const run = () => transposedAMatMul(backend, matMul, a, b, rows);
    const actual = run();
    assert.equal(backend.numDataIds(), before, "no buffer outlives the kernel");
    assertClose(actual, expected, `[${k},${m}]ᵀ·[${k},${n}] by ${rows} rows`);
    assert.deepEqual(run(), actual, "same inputs, same bits");
    tf.dispose([a, b]);
  }
  // Through tf.matMul (the transpose-first kernel), against the same float64 sum.
  const [a, b] = [randomTensor([1100, 3], 5), randomTensor([1100, 200], 6)];
  const expected = transposedAProduct(
    a.dataSync() as Float32Array,
    b.dataSync() as Float32Array,
    1100,
    3,
    200,
  );
  const product = tf.matMul(a, b, true, false);
  assert.deepEqual(product.shape, [3, 200]);
  assertClose(product.dataSync() as Float32Array, expected, "matMul [1100,3]ᵀ·[1100,200]");
  tf.dispose([a, b, product]);
  await selectBackend("cpu");
});

Deno.test("wasm: sum over leading axes equals a float64 sum; other axes and dtypes as before", async () => {
  const shape = [3, 5, 4, 7];
  await selectBackend("cpu");
  const x = randomTensor(shape, 11);
  const values = x.dataSync() as Float32Array;
  const expected = new Float64Array(4 * 7);
  values.forEach((v, i) => expected[i % 28] += v);
  const wantOther = tf.sum(x, [1, 3]).dataSync() as Float32Array;
  const [wx] = await moveTo("wasm", [x]);
  for (
    const [axis, keepDims, want] of [[[0, 1], false, [4, 7]], [[1, 0], true, [1, 1, 4, 7]]] as const
  ) {
    const s = tf.sum(wx, [...axis], keepDims);
    assert.deepEqual(s.shape, want);
    assertClose(s.dataSync() as Float32Array, Float32Array.from(expected), `sum over ${axis}`);
    s.dispose();
  }
  const other = tf.sum(wx, [1, 3]);
  assertClose(other.dataSync() as Float32Array, wantOther, "sum over axes 1 and 3");
  const ints = tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), 0);
  assert.deepEqual([ints.dtype, Array.from(ints.dataSync())], ["int32", [4, 6]]);
  tf.dispose([wx, other, ints]);
  await selectBackend("cpu");
});

Deno.test("wasm: filter gradients in several dy-row chunks equal cpu's float64 kernel", async () => {
  // Split every dy as a large one is: rows of 10·64·64 and 5·128·128 values, 6 and 3 rows per
  // chunk, so 2 chunks each.
  type Shape = [number, number, number, number];
  const cases: [Shape, Shape, number, "same" | "valid"][] = [
    [[64, 9, 10, 9], [3, 3, 9, 64], 1, "same"],
    [[128, 11, 10, 9], [4, 4, 9, 128], 2, "same"],
  ];
  for (const [n, [xShape, wShape, stride, pad]] of cases.entries()) {
    await selectBackend("cpu");
    const x = randomTensor(xShape, 100 + n);
    const dy = tf.tidy(() =>
      randomTensor(
        tf.conv2d(x as tf.Tensor4D, tf.zeros(wShape) as tf.Tensor4D, stride, pad).shape,
        110 + n,
      )
    );
    const grad = (a: tf.Tensor, b: tf.Tensor) =>
      tf.engine().runKernel("Conv2DBackpropFilter", { x: a, dy: b }, {
        strides: [stride, stride],
        pad,
        dataFormat: "NHWC",
        filterShape: wShape,
      }) as tf.Tensor;
    const expected = grad(x, dy);
    const want = expected.dataSync() as Float32Array;
    expected.dispose();
    const [wx, wdy] = await moveTo("wasm", [x, dy]);
    const info = backend_util.computeConv2DInfo(xShape, wShape, stride, 1, pad);
    const geometry = {
      x: xShape,
      dy: dy.shape as Shape,
      kh: wShape[0],
      kw: wShape[1],
      strideY: stride,
      strideX: stride,
      top: info.padInfo.top,
      left: info.padInfo.left,
    };
    const backend = tf.backend() as BackendWasm;
    const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
    const split = { ...FILTER_SPLIT, above: 0 };
    const run = () => {
      const out = filterGrad(backend, matMul, wx, wdy, geometry, split);
      const values = (backend.readSync(out.dataId) as Float32Array).slice();
      backend.disposeData(out.dataId);
      return values;
    };
    const first = run();
    assertClose(first, want, `dW ${xShape} ${wShape}`);
    assert.deepEqual(run(), first, "same inputs, same bits");
    const whole = grad(wx, wdy);
    assertClose(whole.dataSync() as Float32Array, want, `dW ${xShape} ${wShape} whole`);
    tf.dispose([wx, wdy, whole]);
  }
  await selectBackend("cpu");
});
