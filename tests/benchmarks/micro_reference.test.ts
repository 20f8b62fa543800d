import assert from "node:assert/strict";
import { UsageError } from "../../core/errors.ts";
import { formatTable, type MicroRow, parseCpuReference } from "../../benchmarks/micro.ts";

const line = (model: string, threads: number, speed: number) =>
  JSON.stringify({ model, threads, img_per_s_median: speed, img_per_s_mean: 1 });

Deno.test("bench:micro --reference: torch_cpu.py lines by model and threads, medians of repeats", () => {
  const text = [
    "warming up", // not a result line
    line("made", 2, 9000),
    line("made", 1, 6000),
    line("made", 2, 9600),
    line("made", 2, 9200),
    line("vae-mlp", 1, 12000),
  ].join("\n");
  const reference = parseCpuReference(text, "torch.jsonl");
  assert.equal(reference.get("made")?.get(2), 9200);
  assert.equal(reference.get("made")?.get(1), 6000);
  assert.equal(reference.get("vae-mlp")?.get(1), 12000);
  assert.equal(reference.has("nade"), false);
});

Deno.test("bench:micro --reference: a bad file is one line naming it", () => {
  for (const text of ["{not json", '{"model": "made", "threads": 2}', "no results here"]) {
    assert.throws(() => parseCpuReference(text, "torch.jsonl"), (error: Error) => {
      return error instanceof UsageError && error.message.startsWith("torch.jsonl") &&
        !error.message.includes("\n");
    });
  }
});

Deno.test("bench:micro --reference: the table shows PyTorch img/s and the ratio per thread count", () => {
  const row: MicroRow = {
    kind: "model",
    name: "train step made",
    ms: 32,
    meanMs: 33,
    samples: 5,
    imagesPerS: 4000,
    cpuReference: [{ threads: 2, imagesPerS: 8000, ratio: 0.5 }, {
      threads: 1,
      imagesPerS: 5000,
      ratio: 0.8,
    }],
  };
  const [head, , body] = formatTable([row]).split("\n");
  assert.match(head, /PyTorch 2t img\/s\s+ratio 2t\s+PyTorch 1t img\/s\s+ratio 1t/);
  assert.match(body, /4000\s+8000\s+0\.500\s+5000\s+0\.800/);
});
