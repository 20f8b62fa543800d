/**
 * Fuzzing the dataset readers with seeded, randomly corrupted IDX and CIFAR-10 files: truncated,
 * wrong magic, wrong counts, flipped bytes, appended bytes, random bytes, broken gzip. Every
 * file must either load or fail with one UsageError of one line naming the file; nothing else
 * may be thrown and nothing may hang.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { Stream } from "../../core/rng.ts";
import { UsageError } from "../../core/errors.ts";
import { encodeIdx, maybeGunzip, parseIdx } from "../../datasets/idx.ts";
import { loadMnist, MNIST_FILES } from "../../datasets/mnist.ts";
import {
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  loadCifar10,
  parseCifarBatch,
} from "../../datasets/cifar10.ts";

const rng = Stream.derive(2026, "fuzz-datasets");

function randomBytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** One random corruption of `good`, and its name (for the failure message). */
function corrupt(good: Uint8Array): [string, Uint8Array] {
  const bytes = good.slice();
  const view = new DataView(bytes.buffer);
  switch (rng.int(9)) {
    case 0:
      return ["truncated", good.slice(0, rng.int(good.length))];
    case 1:
      for (let i = 0; i < 4; i++) bytes[i] = rng.int(256);
      return ["magic", bytes];
    case 2: {
      // A count or dimension field off by a little or by a lot.
      const field = 4 * rng.int(Math.max(1, Math.min(4, Math.floor(bytes.length / 4))));
      if (field + 4 > bytes.length) return ["short", bytes];
      const old = view.getUint32(field, false);
      const delta = rng.uniform() < 0.5 ? rng.int(5) - 2 : rng.int(0xffffffff);
      view.setUint32(field, (old + delta) >>> 0, false);
      return ["count", bytes];
    }
    case 3:
      for (let i = 0, n = 1 + rng.int(16); i < n; i++) bytes[rng.int(bytes.length)] = rng.int(256);
      return ["flipped", bytes];
    case 4:
      return ["appended", Uint8Array.from([...bytes, ...randomBytes(1 + rng.int(5000))])];
    case 5:
      return ["random", randomBytes(rng.int(8000))];
    case 6: {
      const gz = gzipSync(bytes);
      return ["gzip-truncated", gz.subarray(0, 2 + rng.int(gz.length - 2))];
    }
    case 7: {
      const gz = new Uint8Array(gzipSync(good));
      for (let i = 0, n = 1 + rng.int(8); i < n; i++) {
        gz[10 + rng.int(gz.length - 10)] ^= 1 + rng.int(255);
      }
      return ["gzip-flipped", gz];
    }
    default:
      // Labels out of range (IDX label files and CIFAR label bytes live in the data).
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) {
        bytes[rng.int(bytes.length)] = 10 + rng.int(246);
      }
      return ["labels", bytes];
  }
}

/** Run `read` and check that it either succeeds or throws one one-line UsageError. */
async function expectCleanFailure(what: string, read: () => unknown): Promise<string | null> {
  try {
    await read();
    return null;
  } catch (error) {
    assert.ok(error instanceof UsageError, `${what}: threw ${error}`);
    assert.ok(!error.message.includes("\n"), `${what}: "${error.message}"`);
    assert.ok(error.message.length > 0 && error.message.length < 500, `${what}: ${error.message}`);
    // The kind of failure, without its numbers and file name, to see how much was covered.
    return error.message.replace(/^[^:]*: /, "").replace(/0x[0-9a-f]+|\d+/g, "#").slice(0, 40);
  }
}

const idxImages = encodeIdx([3, 28, 28], randomBytes(3 * 784));
const idxLabels = encodeIdx([3], Uint8Array.from([1, 7, 9]));
const cifar = Uint8Array.from(
  { length: 3 * CIFAR10_RECORD_BYTES },
  (_, i) => i % CIFAR10_RECORD_BYTES === 0 ? rng.int(10) : rng.int(256),
);

Deno.test("1,200 corrupted IDX files: the IDX reader loads them or fails in one line", async () => {
  const kinds = new Set<string>();
  for (let i = 0; i < 1200; i++) {
    const [how, bytes] = corrupt(i % 2 ? idxImages : idxLabels);
    const kind = await expectCleanFailure(`IDX case ${i} (${how})`, () => {
      const idx = parseIdx(maybeGunzip(bytes, "f.idx"), "f.idx");
      assert.equal(idx.data.length, idx.dims.reduce((a, b) => a * b, 1));
    });
    if (kind) kinds.add(kind);
  }
  assert.ok(kinds.size >= 6, [...kinds].join(" | "));
});

Deno.test("1,200 corrupted CIFAR-10 batches: the reader loads them or fails in one line", async () => {
  const kinds = new Set<string>();
  for (let i = 0; i < 1200; i++) {
    const [how, bytes] = corrupt(cifar);
    const kind = await expectCleanFailure(`CIFAR case ${i} (${how})`, () => {
      const batch = parseCifarBatch(bytes, "b.bin");
      assert.equal(batch.images.length, batch.count * 3072);
      assert.ok(batch.labels.every((label) => label <= 9));
    });
    if (kind) kinds.add(kind);
  }
  assert.ok(kinds.size >= 2, [...kinds].join(" | "));
});

Deno.test("the whole loaders on folders with one corrupted file fail in one line", async () => {
  const dir = await Deno.makeTempDir();
  const mnist: Record<string, Uint8Array> = {
    [MNIST_FILES.trainImages]: encodeIdx([12, 28, 28], randomBytes(12 * 784)),
    [MNIST_FILES.trainLabels]: encodeIdx([12], Uint8Array.from({ length: 12 }, () => rng.int(10))),
    [MNIST_FILES.testImages]: idxImages,
    [MNIST_FILES.testLabels]: idxLabels,
  };
  const cifarFiles: Record<string, Uint8Array> = Object.fromEntries(
    [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].map((name) => [name, cifar]),
  );
  const kinds = new Set<string>();
  for (let i = 0; i < 120; i++) {
    const [files, load] = i % 2 ? [mnist, loadMnist] : [cifarFiles, loadCifar10];
    const names = Object.keys(files);
    const victim = names[rng.int(names.length)];
    for (const entry of Deno.readDirSync(dir)) Deno.removeSync(join(dir, entry.name));
    for (const name of names) {
      await Deno.writeFile(
        join(dir, name),
        name === victim ? corrupt(files[name])[1] : files[name],
      );
    }
    const kind = await expectCleanFailure(`folder case ${i} (${victim})`, () => load(dir));
    if (kind) kinds.add(kind);
  }
  assert.ok(kinds.size >= 6, [...kinds].join(" | "));
  await Deno.remove(dir, { recursive: true });
});
