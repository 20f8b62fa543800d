import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { encodeIdx, maybeGunzip, parseIdx } from "../../datasets/idx.ts";
import { loadMnist, MNIST_FILES } from "../../datasets/mnist.ts";
import { UsageError } from "../../core/errors.ts";

Deno.test("parseIdx reads a valid 3-D file", () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const bytes = encodeIdx([2, 3, 4], data);
  // Header by hand: 00 00 08 03, then 2, 3, 4 as big-endian uint32.
  assert.deepEqual([...bytes.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
  const idx = parseIdx(bytes, "x");
  assert.deepEqual(idx.dims, [2, 3, 4]);
  assert.deepEqual([...idx.data], [...data]);
});

Deno.test("parseIdx rejects malformed files with one line naming the file", () => {
  const good = encodeIdx([3, 2], new Uint8Array(6));
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(2), /truncated IDX file/],
    [Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /not an IDX file/],
    [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /type code 0x0d/],
    [Uint8Array.from([0, 0, 8, 0]), /0 dimensions/],
    [good.subarray(0, 10), /truncated IDX header/],
    [good.subarray(0, good.length - 1), /truncated IDX data \(5 of 6 bytes/],
    [Uint8Array.from([...good, 7]), /1 bytes after the IDX data/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => parseIdx(bytes, "file.idx"), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /^file\.idx: /);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("gzipped IDX files are read; corrupt gzip is one clear error", () => {
  const raw = encodeIdx([4], Uint8Array.from([1, 2, 3, 4]));
  assert.deepEqual(parseIdx(maybeGunzip(gzipSync(raw), "a.gz"), "a.gz").dims, [4]);
  assert.throws(
    () => maybeGunzip(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), "b.gz"),
    /b\.gz: corrupt gzip data/,
  );
});

async function writeMnistDir(
  dir: string,
  counts: { train: number; test: number },
  gzip: boolean,
): Promise<void> {
  const files: [string, Uint8Array][] = [
    [
      MNIST_FILES.trainImages,
      encodeIdx([counts.train, 28, 28], new Uint8Array(counts.train * 784).fill(200)),
    ],
    [MNIST_FILES.trainLabels, encodeIdx([counts.train], new Uint8Array(counts.train).fill(3))],
    [MNIST_FILES.testImages, encodeIdx([counts.test, 28, 28], new Uint8Array(counts.test * 784))],
    [MNIST_FILES.testLabels, encodeIdx([counts.test], new Uint8Array(counts.test))],
  ];
  for (const [name, bytes] of files) {
    await Deno.writeFile(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  }
}

Deno.test("loadMnist reads a --data-dir of gzipped files and splits off validation", async () => {
  const dir = await Deno.makeTempDir();
  await writeMnistDir(dir, { train: 12, test: 5 }, true);
  const dataset = await loadMnist(dir);
  assert.equal(dataset.train.count + dataset.valid.count, 12);
  assert.equal(dataset.valid.count, 2);
  assert.equal(dataset.test.count, 5);
  assert.equal(dataset.source, dir);
  assert.match(dataset.fingerprint, /^[0-9a-f]{64}$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadMnist: missing folder, missing file, mismatched counts are one-line errors", async () => {
  await assert.rejects(
    loadMnist("/nonexistent/genbench"),
    /--data-dir \/nonexistent\/genbench: cannot read/,
  );
  const dir = await Deno.makeTempDir();
  await assert.rejects(loadMnist(dir), /missing train-images-idx3-ubyte/);
  await writeMnistDir(dir, { train: 4, test: 2 }, false);
  await Deno.writeFile(join(dir, MNIST_FILES.testLabels), encodeIdx([3], new Uint8Array(3)));
  await assert.rejects(loadMnist(dir), /t10k-labels-idx1-ubyte: 3 labels for 2 images/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the packaged MNIST has the standard sizes and a stable fingerprint", async () => {
  const dataset = await loadMnist();
  assert.equal(dataset.train.count, 50_000);
  assert.equal(dataset.valid.count, 10_000);
  assert.equal(dataset.test.count, 10_000);
  assert.equal(
    dataset.fingerprint,
    "b2d8f5bf39174ee5ffeefa97e42d673c35432b411bb5d1f74fbbeddae7f1690a",
  );
  // The static binarization has the mean grey level of MNIST test digits (≈ 0.1325 of 255).
  const mean = dataset.testBinary.reduce((a, b) => a + b, 0) / dataset.testBinary.length;
  assert.ok(Math.abs(mean - 0.1325) < 0.002, `binarized mean ${mean}`);
});
