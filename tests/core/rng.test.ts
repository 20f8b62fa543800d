import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";

Deno.test("named streams are reproducible and independent", () => {
  const a = Stream.derive(1, "init").uniformArray(5);
  assert.deepEqual(a, Stream.derive(1, "init").uniformArray(5));
  assert.notDeepEqual(a, Stream.derive(1, "data-order").uniformArray(5));
  assert.notDeepEqual(a, Stream.derive(2, "init").uniformArray(5));
});

Deno.test("a stream restored from its state continues identically", () => {
  const stream = Stream.derive(5, "x");
  stream.normal(); // leaves a spare normal in the state
  const copy = Stream.fromState(JSON.parse(JSON.stringify(stream.state())));
  assert.deepEqual(copy.normalArray(7), stream.normalArray(7));
});

Deno.test("uniform and normal draws have the right moments; permutations are permutations", () => {
  const stream = Stream.derive(9, "moments");
  const n = 100_000;
  const u = stream.uniformArray(n);
  const z = stream.normalArray(n);
  const mean = (xs: Float32Array) => xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(Math.abs(mean(u) - 0.5) < 0.005);
  assert.ok(Math.abs(mean(z)) < 0.015);
  assert.ok(Math.abs(mean(z.map((v) => v * v)) - 1) < 0.02);
  const perm = stream.permutation(1000);
  assert.deepEqual([...perm].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});

Deno.test("uniformArray on [low, high) is low + (high − low)·u of the same draws, then float32", () => {
  const a = Stream.derive(4, "codes"), b = Stream.derive(4, "codes");
  const codes = a.uniformArray(1000, -1, 1);
  assert.deepEqual(codes, Float32Array.from({ length: 1000 }, () => 2 * b.uniform() - 1));
  assert.deepEqual(a.uniformArray(7), b.uniformArray(7));
  assert.deepEqual(
    a.uniformArray(9, 3, 5),
    Float32Array.from({ length: 9 }, () => 3 + 2 * b.uniform()),
  );
});
