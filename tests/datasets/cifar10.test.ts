import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  encodeCifarBatch,
  loadCifar10,
  parseCifarBatch,
} from "../../datasets/cifar10.ts";
import { UsageError } from "../../core/errors.ts";
import { getDataset } from "../../datasets/registry.ts";

/** A record written by hand in the file's own layout: label, then the R, G and B planes. */
function record(label: number, pixel: (x: number, y: number, c: number) => number): number[] {
  const bytes = [label];
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes.push(pixel(x, y, c));
  }
  return bytes;
}

const pattern = (n: number) => (x: number, y: number, c: number) => (x + 3 * y + 50 * c + n) % 256;

/** A tiny CIFAR-10 folder: `perFile` records per training batch, `test` test records. */
async function writeFolder(dir: string, perFile: number, test: number): Promise<Uint8Array[]> {
  const files: Uint8Array[] = [];
  let n = 0;
  for (const name of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE]) {
    const count = name === CIFAR10_TEST_FILE ? test : perFile;
    const bytes = Uint8Array.from(
      Array.from({ length: count }, () => record(n % 10, pattern(n++))).flat(),
    );
    await Deno.writeFile(join(dir, name), bytes);
    files.push(bytes);
  }
  return files;
}

function assertOneLine(pattern: RegExp) {
  return (error: Error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.ok(!error.message.includes("\n"));
    assert.match(error.message, pattern);
    return true;
  };
}

Deno.test("a CIFAR-10 record's channel planes become interleaved HWC pixels", () => {
  const bytes = Uint8Array.from([...record(3, pattern(0)), ...record(9, pattern(7))]);
  const batch = parseCifarBatch(bytes, "b.bin");
  assert.equal(batch.count, 2);
  assert.deepEqual([...batch.labels], [3, 9]);
  for (const [n, shift] of [[0, 0], [1, 7]]) {
    for (const [x, y] of [[0, 0], [31, 0], [5, 17], [31, 31]]) {
      for (let c = 0; c < 3; c++) {
        const hwc = n * 3072 + (y * 32 + x) * 3 + c;
        assert.equal(batch.images[hwc], pattern(shift)(x, y, c), `image ${n} (${x},${y},${c})`);
      }
    }
  }
  assert.deepEqual(encodeCifarBatch(batch.images, batch.labels), bytes);
});

Deno.test("loadCifar10 reads the six batches into 32×32×3 splits with a 10% validation set", async () => {
  const dir = await Deno.makeTempDir();
  const files = await writeFolder(dir, 4, 3);
  const data = await loadCifar10(dir);
  assert.equal(data.name, "cifar10");
  assert.deepEqual(data.shape, { height: 32, width: 32, channels: 3 });
  assert.equal(data.classes, 10);
  assert.equal(data.train.count + data.valid.count, 20);
  assert.equal(data.valid.count, 2);
  assert.equal(data.test.count, 3);
  assert.deepEqual([...data.test.labels], [0, 1, 2]);
  assert.equal(data.test.images[(2 * 32 + 1) * 3 + 2], pattern(20)(1, 2, 2));
  const hash = createHash("sha256");
  for (const file of files) hash.update(file);
  assert.equal(data.fingerprint, hash.digest("hex"));
  // The unpacked archive's own folder name is found too.
  const parent = await Deno.makeTempDir();
  await Deno.rename(dir, join(parent, "cifar-10-batches-bin"));
  assert.equal((await loadCifar10(parent)).fingerprint, data.fingerprint);
  assert.equal(getDataset("cifar10").name, "cifar10");
  await Deno.remove(parent, { recursive: true });
});

Deno.test("bad CIFAR-10 input is one line naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await writeFolder(dir, 2, 2);
  await assert.rejects(loadCifar10(), assertOneLine(/--dataset cifar10 needs --data-dir/));
  await assert.rejects(loadCifar10(join(dir, "nope")), assertOneLine(/nope: cannot read/));
  await assert.rejects(
    loadCifar10(join(dir, CIFAR10_TEST_FILE)),
    assertOneLine(/not a directory/),
  );
  const good = await Deno.readFile(join(dir, "data_batch_3.bin"));
  const cases: [Uint8Array | null, RegExp][] = [
    [null, /missing data_batch_3\.bin/],
    [new Uint8Array(0), /data_batch_3\.bin: empty file/],
    [good.subarray(0, good.length - 1), /6145 bytes is not a whole number of 3073-byte records/],
    [Uint8Array.from([...good, 1]), /6147 bytes is not a whole number/],
    [Uint8Array.from(good, (v, i) => i === CIFAR10_RECORD_BYTES ? 10 : v), /record 1 has label 10/],
    [new Uint8Array(10_001 * CIFAR10_RECORD_BYTES), /10001 records \(a CIFAR-10 batch holds/],
  ];
  for (const [bytes, pattern] of cases) {
    const path = join(dir, "data_batch_3.bin");
    if (bytes) await Deno.writeFile(path, bytes);
    else await Deno.remove(path);
    await assert.rejects(loadCifar10(dir), assertOneLine(pattern));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--dataset cifar10 without --data-dir fails before training: one line, exit 2", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).pathname;
  const out = await Deno.makeTempDir();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mod, "bench", "--dataset", "cifar10", "--out", out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 2);
  const stderr = new TextDecoder().decode(result.stderr).trim();
  assert.match(stderr, /^genbench: --dataset cifar10 needs --data-dir: [^\n]*$/);
  await Deno.remove(out, { recursive: true });
});
