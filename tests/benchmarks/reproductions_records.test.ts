/**
 * The committed reproduction records (benchmarks/reproductions/): every one valid against its
 * copied run files and its model's current references, the README's reproduction section equal
 * to what `deno task reproductions` renders from them (CI never retrains them), and the smallest
 * record made on the deterministic cpu backend reproducible from its command: re-running it gives
 * the same first curve points, bit for bit.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { MODELS } from "../../models/registry.ts";
import {
  CURVE_HEAD,
  parseCurves,
  readRecords,
  RECORDS_DIR,
  withoutTimings,
} from "../../benchmarks/reproduction.ts";
import { renderedReadme } from "../../cli/reproductions.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const records = async () =>
  (await readRecords(join(ROOT, RECORDS_DIR), MODELS)).map((r) => r.record);

Deno.test("every reproduction record is valid against its run files and its model's references", async () => {
  for (const record of await records()) {
    assert.ok(record.curve.head.length > 0 || record.budget.steps_done === 0, record.run_path);
  }
});

Deno.test("the README's reproduction section is what the records render", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const rendered = await renderedReadme(readme, join(ROOT, RECORDS_DIR));
  assert.ok(rendered === readme, "README.md is out of date: run `deno task reproductions`");
});

/** The first `count` points of the curve under `out/runs/<one run>/`, once written (else null). */
async function curveHead(out: string, count: number) {
  try {
    for await (const run of Deno.readDir(join(out, "runs"))) {
      const path = join(out, "runs", run.name, "curves.jsonl");
      const points = parseCurves(await Deno.readTextFile(path), path);
      if (points.length >= count) return points.slice(0, count);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return null;
}

Deno.test("the smallest cpu record is reproducible from its command", async () => {
  const candidates = (await records())
    .filter((r) => r.hardware.backend === "cpu" && r.curve.head.length > 0)
    .sort((a, b) => a.budget.images - b.budget.images);
  assert.ok(candidates.length > 0, "no record made on the cpu backend with a learning curve");
  const record = candidates[0];
  const head = record.curve.head.slice(0, CURVE_HEAD);
  const words = record.command.split(/\s+/);
  assert.deepEqual(words.slice(0, 3), ["deno", "task", "bench"], record.command);
  const args = words.slice(3);
  for (const flag of ["--out", "--checkpoint-every"]) {
    const at = args.indexOf(flag);
    if (at >= 0) args.splice(at, 2);
  }
  // The curve reaches disk at each checkpoint: one as soon as the compared points are logged,
  // then the run is stopped (checkpoints never change results).
  const steps = head.at(-1)!.step;
  const out = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", "mod.ts", "bench", ...args],
      ...["--out", out, "--quiet", "--checkpoint-every", String(steps)],
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const done = child.output();
  try {
    let rerun = null;
    const deadline = Date.now() + 10 * 60_000;
    while (rerun === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      rerun = await curveHead(out, head.length);
      const finished = await Promise.race([done.then(() => true), Promise.resolve(false)]);
      if (finished && rerun === null) rerun = await curveHead(out, head.length) ?? [];
    }
    assert.ok(rerun !== null, `re-running "${record.command}" logged no curve in 10 minutes`);
    assert.deepEqual(
      rerun.map(withoutTimings),
      head.map(withoutTimings),
      `re-running "${record.command}" gave other curve points`,
    );
  } finally {
    try {
      child.kill("SIGINT");
    } catch { /* already exited */ }
    const { code, stderr } = await done;
    if (![0, 130].includes(code)) {
      assert.fail(`the re-run exited ${code}: ${new TextDecoder().decode(stderr)}`);
    }
    await Deno.remove(out, { recursive: true });
  }
});
