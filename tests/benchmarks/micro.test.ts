/** `deno task bench:micro` on the cpu backend with one small op: the JSON and the table. */
import assert from "node:assert/strict";
import { formatTable, type MicroReport, opCases } from "../../benchmarks/micro.ts";
import { microCommand as main } from "../../cli/micro.ts";

Deno.test("the op list covers the canonical shapes with their FLOP counts", () => {
  const ops = opCases();
  const conv = ops.find((o) => o.name === "conv2dBackpropFilter 3x3 64→64 28x28");
  assert.ok(conv);
  // 2 · (128·28·28 outputs) · 64 filters · (3·3·64) taps.
  assert.ok(Math.abs(conv.gflop - (2 * 128 * 784 * 64 * 576) / 1e9) < 1e-9);
  assert.deepEqual(conv.shapes, [[128, 28, 28, 64], [128, 28, 28, 64]]);
  const dw = ops.find((o) => o.name.startsWith("matMul 784x128·128x200 tA"));
  assert.ok(dw);
  assert.deepEqual(dw.shapes, [[128, 784], [128, 200]]);
  for (const res of ["28x28", "14x14", "7x7"]) {
    for (const op of ["conv2d", "conv2dBackpropInput", "conv2dBackpropFilter"]) {
      assert.ok(ops.some((o) => o.name === `${op} 3x3 64→64 ${res}`), `${op} at ${res}`);
    }
  }
});

Deno.test({
  name: "bench:micro times one op on cpu and writes its JSON",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const out = await Deno.makeTempFile({ suffix: ".json" });
    try {
      const code = await main([
        "--backend",
        "cpu",
        "--only",
        "^matMul 200x128·128x784 tA",
        "--no-models",
        "--time",
        "20",
        "--out",
        out,
      ]);
      assert.equal(code, 0);
      const report = JSON.parse(await Deno.readTextFile(out)) as MicroReport;
      assert.equal(report.backend.name, "cpu");
      assert.equal(report.kernels, "n/a");
      assert.equal(report.rows.length, 1);
      const [row] = report.rows;
      assert.equal(row.error, undefined);
      assert.ok(row.ms > 0 && Number.isFinite(row.ms));
      assert.ok(Math.abs(row.gflops! - row.gflop! / (row.ms / 1000)) < 1e-6 * row.gflops!);
      assert.match(formatTable(report.rows), /matMul 200x128·128x784 tA/);
    } finally {
      await Deno.remove(out);
    }
  },
});

Deno.test("bench:micro rejects an unknown --kernels value", async () => {
  await assert.rejects(
    () => main(["--backend", "cpu", "--kernels", "fast", "--no-models", "--no-ops"]),
    /--kernels/,
  );
});
