/**
 * Hostile input to the commands, each run as its deno task's command line from deno.json: help
 * is real usage; a bad flag, an empty image set, a zero count, a negative number, a missing
 * folder and an uninstalled backend are each one line naming the flag and what is allowed,
 * exit 2, no stack trace; a software WebGPU adapter is warned about.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeIdx } from "../../datasets/idx.ts";
import { backendWarning } from "../../cli/backend.ts";
import { needTool } from "../_tools.ts";
import { ROOT, task, withResultsDir } from "../_run.ts";

/** `deno task NAME ARGS…` as the task's command line, without a shell. */
const run = (name: string, ...args: string[]) => task(name, args);

/** Exit 2 and exactly one line on stderr matching `pattern`. */
function oneLine2(result: { code: number; stderr: string }, pattern: RegExp, what: string) {
  assert.equal(result.code, 2, `${what}: exit ${result.code}: ${result.stderr}`);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `${what}: ${result.stderr}`);
  assert.match(lines[0], pattern, what);
  assert.doesNotMatch(lines[0], /TypeError|ambiguous|\bat file:/, what);
}

/** A folder under results/ (readable by every task) with image sets of `counts` 4×4 images. */
async function imageSets(...counts: number[]): Promise<[string, string[], () => Promise<void>]> {
  const dir = join("results", `.hostile-test-${crypto.randomUUID()}`);
  await Deno.mkdir(join(ROOT, dir), { recursive: true });
  const files = [];
  for (const [i, n] of counts.entries()) {
    const file = join(dir, `set${i}.idx`);
    const data = Uint8Array.from({ length: n * 16 }, (_, j) => (j * 37 + i * 11) % 256);
    await Deno.writeFile(join(ROOT, file), encodeIdx([n, 4, 4], data));
    files.push(file);
  }
  return [dir, files, () => Deno.remove(join(ROOT, dir), { recursive: true })];
}

Deno.test("score --help and bench:micro --help print real usage", async () => {
  for (const [name, expected] of [["score", /--kid-subsets N/], ["bench:micro", /--time MS/]]) {
    const { code, stdout, stderr } = await run(name as string, "--help");
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^Usage: deno task ${name} `), stdout);
    assert.match(stdout, expected as RegExp);
    assert.equal(stderr.replace(/^.*warning.*$/gm, "").trim(), "");
  }
});

Deno.test("score's and bench:micro's bad flags are one line, exit 2", async () => {
  oneLine2(await run("score", "--frob", "a", "b"), /unknown flag --frob \(expected /, "score");
  oneLine2(await run("score", "a", "b", "--k"), /--k: needs a value/, "score --k");
  oneLine2(await run("bench:micro", "--frob"), /unknown flag --frob/, "bench:micro");
  oneLine2(await run("bench:micro", "--time", "0"), /--time: .*milliseconds > 0/, "--time 0");
  oneLine2(await run("bench:micro", "--only", "("), /--only: "\(" is not a regular/, "--only");
});

Deno.test("score with an empty set, --k 0 or --splits 0 is exit 2", async () => {
  const [, [empty, a, b], cleanup] = await imageSets(0, 20, 20);
  try {
    oneLine2(await run("score", empty, b), /score: A .*set0\.idx.* holds no images/, "0 images");
    oneLine2(await run("score", a, empty), /score: B .*set0\.idx.* holds no images/, "0 images");
    oneLine2(
      await run("score", a, b, "--k", "0"),
      /--k: "0" is not an integer \(expected an integer ≥ 1\)/,
      "--k 0",
    );
    oneLine2(
      await run("score", a, b, "--splits", "0"),
      /--splits: "0" is not an integer \(expected an integer ≥ 1\)/,
      "--splits 0",
    );
    oneLine2(await run("score", a, b, "--k", "-2"), /--k: "-2" is not an integer/, "--k -2");
    // The same sets with sound flags are scored.
    const ok = await run("score", a, b, "--features", "pixels", "--json", "--k", "2");
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await cleanup();
  }
});

Deno.test("bench: negative counts say what is allowed; a missing --data-dir does not exist", async () => {
  oneLine2(
    await run("bench", "--seeds", "-1"),
    /--seeds: "-1" is not a seed \(expected an integer from 0 to \d+\)/,
    "--seeds -1",
  );
  oneLine2(
    await run("bench", "--seed", "-3"),
    /--seed: "-3" is not a seed \(expected an integer from 0/,
    "--seed -3",
  );
  oneLine2(
    await run("bench", "--checkpoint-every", "-5"),
    /--checkpoint-every: "-5" is not a step count \(expected an integer ≥ 0\)/,
    "--checkpoint-every -5",
  );
  oneLine2(
    await run("bench", "--seeds"),
    /--seeds: needs a value \(expected a list such as 1,2,3/,
    "--seeds",
  );
  await withResultsDir(async (out) =>
    oneLine2(
      await run("bench", "--dataset", "synthetic", "--data-dir", "no/such/folder", "--out", out),
      /--data-dir no\/such\/folder: does not exist/,
      "--data-dir missing",
    ), ".hostile-test-");
});

Deno.test("--backend tensorflow names the real fix", async () => {
  await withResultsDir(async (out) =>
    oneLine2(
      await run(
        "bench",
        "--backend",
        "tensorflow",
        "--suite",
        "ci",
        "--dataset",
        "synthetic",
        "--out",
        out,
      ),
      /tfjs-node-gpu is not installed; .*deno\.json's imports .*deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/,
      "--backend tensorflow",
    ), ".hostile-test-");
});

Deno.test("a software WebGPU adapter is warned about; a hardware one and other backends not", () => {
  const warning = backendWarning({
    name: "webgpu",
    adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
    fallbackAdapter: true,
  });
  assert.match(warning!, /software adapter \(llvmpipe.*slower than the CPU; use --backend cpu/);
  assert.equal(backendWarning({ name: "webgpu", adapter: "H200", fallbackAdapter: false }), null);
  assert.equal(backendWarning({ name: "cpu", adapter: null, fallbackAdapter: false }), null);
});

const webgpu = await needTool("webgpu");

Deno.test({
  name: "--backend webgpu on this machine's adapter: the warning where it is a software one",
  ignore: webgpu.ignore,
  sanitizeResources: false,
  async fn() {
    // score is the cheapest command that selects a backend.
    const [, files, cleanup] = await imageSets(12, 12);
    try {
      const result = await run("score", "--backend", "webgpu", "--features", "pixels", ...files);
      assert.equal(result.code, 0, result.stderr);
      const adapter = await navigator.gpu.requestAdapter();
      if (adapter!.info.isFallbackAdapter) {
        assert.match(result.stderr, /warning: --backend webgpu runs on a software adapter/);
      } else {
        assert.doesNotMatch(result.stderr, /software adapter/);
      }
    } finally {
      await cleanup();
    }
  },
});
