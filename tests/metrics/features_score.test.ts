import assert from "node:assert/strict";
import { join } from "node:path";
import { encode } from "fast-png";
import { selectBackend } from "../../core/backend.ts";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import { encodeIdx } from "../../datasets/idx.ts";
import { fid } from "../../metrics/features/fid.ts";
import { readImageSet, scoreSets } from "../../metrics/features/score.ts";

await selectBackend("cpu");

/** n random 4×4 byte images; `bright` shifts them. */
function images(n: number, bright: number, s: Stream): Uint8Array {
  return Uint8Array.from(
    { length: n * 16 },
    () => Math.min(255, Math.floor(s.uniform() * 200) + bright),
  );
}

Deno.test("score: IDX files and PNG folders read to the same pixels; pixel features check FID", async () => {
  const s = Stream.derive(1, "score");
  const dir = await Deno.makeTempDir();
  try {
    const a = images(60, 0, s);
    const b = images(50, 40, s);
    await Deno.writeFile(join(dir, "a.idx"), encodeIdx([60, 4, 4], a));
    await Deno.writeFile(join(dir, "b.idx"), encodeIdx([50, 4, 4], b));
    const pngs = join(dir, "pngs");
    await Deno.mkdir(pngs);
    for (let i = 0; i < 3; i++) {
      const grey = a.subarray(i * 16, (i + 1) * 16);
      await Deno.writeFile(
        join(pngs, `${i}.png`),
        encode({ width: 4, height: 4, data: grey, channels: 1, depth: 8 }),
      );
    }
    // An RGB copy of the first image, averaged back to grey.
    const rgb = Uint8Array.from({ length: 48 }, (_, j) => a[Math.floor(j / 3)]);
    await Deno.writeFile(
      join(pngs, "3.png"),
      encode({ width: 4, height: 4, data: rgb, channels: 3, depth: 8 }),
    );
    const fromPng = await readImageSet(pngs);
    const fromIdx = await readImageSet(join(dir, "a.idx"));
    assert.equal(fromPng.count, 4);
    assert.deepEqual(fromPng.pixels.subarray(0, 48), fromIdx.pixels.subarray(0, 48));
    assert.deepEqual(fromPng.pixels.subarray(48), fromIdx.pixels.subarray(0, 16));

    const setB = await readImageSet(join(dir, "b.idx"));
    const result = await scoreSets(fromIdx, setB, { features: "pixels", kidSubsets: 5 });
    const rows = (set: { count: number; pixels: Float32Array }) => ({
      count: set.count,
      dim: 16,
      features: Float64Array.from(set.pixels),
    });
    assert.equal(result.metrics.fid.value, fid(rows(fromIdx), rows(setB)));
    assert.ok(result.metrics.kid.value > 0);
    assert.equal(result.metrics.is_score, undefined);
    assert.match(result.skipped.join(), /no classifier/);
    await assert.rejects(() => readImageSet(join(dir, "missing")), UsageError);
    await assert.rejects(() => scoreSets(fromIdx, setB, { features: "lenet" }), /not 4×4/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("score: the CLI prints one line and exits 2 on a bad argument", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../mod.ts", import.meta.url).pathname,
      "score",
      "only-one",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await command.output();
  assert.equal(code, 2);
  const text = new TextDecoder().decode(stderr).trim();
  assert.equal(text.split("\n").length, 1);
  assert.match(text, /expected two image sets/);
});
