import assert from "node:assert/strict";
import { join } from "node:path";
import { collectRuns, groupRuns } from "../../reports/collect.ts";
import { cli, mv, tempDir, withReportDir, writeResults } from "./_fixtures.ts";

async function withRun(
  edit: (metrics: string) => string,
): Promise<[string, string, () => Promise<void>]> {
  const [dir, cleanup] = await tempDir();
  await writeResults(dir, [{
    model: "alpha",
    seed: 1,
    id: "alpha-run",
    metrics: { nll_nats: mv(3) },
  }]);
  const path = join(dir, "runs", "alpha-run", "metrics.json");
  await Deno.writeTextFile(path, edit(await Deno.readTextFile(path)));
  return [dir, path, cleanup];
}

Deno.test("collect: a malformed metrics.json ends in one line naming the file and the field", async () => {
  const cases: [(text: string) => string, RegExp][] = [
    [(t) => t.slice(0, -3), /malformed: not JSON/],
    [
      (t) => t.replace('"value":3', '"value":"3"'),
      /malformed: "metrics\.nll_nats\.value" should be a number/,
    ],
    [
      (t) => t.replace('"better":"lower"', '"better":"smaller"'),
      /"metrics\.nll_nats\.better" should be "lower", "higher" or "none"/,
    ],
    [
      (t) => t.replace('"status":"finished"', '"status":"done"'),
      /"status" should be one of finished, diverged, interrupted/,
    ],
    [(t) => t.replace('"model":"alpha"', '"model":7'), /"model" should be a string/],
    [
      (t) => t.replace('"model":"alpha"', '"model":"beta"'),
      /"model" is "beta" but run\.json says "alpha"/,
    ],
    [() => "[]", /the file should be an object/],
  ];
  for (const [edit, message] of cases) {
    const [dir, path, cleanup] = await withRun(edit);
    try {
      await assert.rejects(collectRuns(dir), (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.ok(error.message.startsWith(`${path}: malformed: `), error.message);
        assert.match(error.message, message);
        assert.ok(!error.message.includes("\n"));
        return true;
      });
    } finally {
      await cleanup();
    }
  }
});

Deno.test("deno task report: a malformed metrics.json is one line on stderr, exit 2", async () => {
  const [dir, path, cleanup] = await withRun((t) =>
    t.replace('"value":3', '"value":{"$eval":"x"}')
  );
  try {
    const out = await cli(["report", "--results", dir]);
    assert.equal(out.code, 2);
    assert.equal(
      out.stderr,
      `genbench: ${path}: malformed: "metrics.nll_nats.value" should be a number\n`,
    );
    assert.equal(out.stdout, "");
  } finally {
    await cleanup();
  }
});

Deno.test("collect: diverged and interrupted runs are marked so, never finished", async () => {
  await withReportDir(async (dir) => {
    await writeResults(dir, [
      { model: "alpha", seed: 1, metrics: { nll_nats: mv(3) } },
      { model: "alpha", seed: 2, status: "diverged", metrics: { params: mv(4, "lower", "count") } },
      { model: "alpha", seed: 3, status: "interrupted" },
      { model: "alpha", seed: 4, curves: [{ step: 1, loss: null }, { step: 2, loss: 1 }] },
    ]);
    await Deno.mkdir(join(dir, "runs", "empty-folder"));
    const { runs } = await collectRuns(dir);
    assert.deepEqual(runs.map((r) => [r.seed, r.status]), [
      [1, "finished"],
      [2, "diverged"],
      [3, "interrupted"],
      [4, "finished"],
    ]);
    assert.deepEqual(runs[3].curves[0], { step: 1, values: { loss: null } });
    const [group] = groupRuns(runs);
    assert.deepEqual(group.finished.map((r) => r.seed), [1, 4]);
    assert.deepEqual(group.unfinished.map((r) => r.status), ["diverged", "interrupted"]);
  });
});

Deno.test("collect: a malformed curves.jsonl line is named by file and line", async () => {
  await withReportDir(async (dir) => {
    await writeResults(dir, [{ model: "alpha", seed: 1, id: "a", curves: [{ step: 1, loss: 2 }] }]);
    const path = join(dir, "runs", "a", "curves.jsonl");
    await Deno.writeTextFile(path, '{"step":1,"loss":2}\n{"step":2,"loss":"x"}\n', {
      append: false,
    });
    await assert.rejects(
      collectRuns(dir),
      new RegExp(`${path}:2: malformed: "loss" should be a number or null`),
    );
    await assert.rejects(collectRuns(join(dir, "nowhere")), /no runs\/ folder there/);
  });
});
