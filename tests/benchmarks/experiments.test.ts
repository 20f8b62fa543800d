/**
 * Experiments as data: suite files, `--suite FILE`, `--set`, `--steps`, `--epochs` and `--budget`
 * end to end (resolved values in run.json, `--resume` keyed on them), and their one-line errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bench, parseBenchArgs } from "../../cli/bench.ts";
import { UsageError } from "../../core/errors.ts";
import { SUITES } from "../../benchmarks/suites.ts";
import { validateOverrides } from "../../benchmarks/overrides.ts";
import { cli, withTempDir } from "../_run.ts";

const TWO_MODELS = {
  name: "two",
  description: "two models, a few steps each",
  evalCount: 50,
  iwaeK: 0,
  sampleCount: 4,
  entries: [
    { model: "bernoulli", steps: 5, options: { batchSize: 16 } },
    { model: "vae-mlp", steps: 5, options: { batchSize: 16 } },
  ],
};

async function suiteFile(dir: string, suite: unknown = TWO_MODELS): Promise<string> {
  const path = join(dir, "two.json");
  await Deno.writeTextFile(path, JSON.stringify(suite));
  return path;
}

/** The parsed run.json of every run under `out`, by model. */
async function records(out: string): Promise<Record<string, Record<string, unknown>[]>> {
  const byModel: Record<string, Record<string, unknown>[]> = {};
  for await (const entry of Deno.readDir(join(out, "runs"))) {
    const record = JSON.parse(await Deno.readTextFile(join(out, "runs", entry.name, "run.json")));
    (byModel[record.model] ??= []).push(record);
  }
  return byModel;
}

/** `bench` in this process with the given flags (parsed as the CLI parses them). */
async function benchWith(args: string[]) {
  const options = parseBenchArgs([...args, "--dataset", "synthetic", "--backend", "cpu"]);
  assert.notEqual(options, "help");
  return await bench({ ...(options as Exclude<typeof options, "help">), quiet: true });
}

/** TWO_MODELS' entry `index` alone, benched with `flags` into `dir`/out, which it returns. */
async function benchOne(dir: string, index: number, ...flags: string[]): Promise<string> {
  const file = await suiteFile(dir, { ...TWO_MODELS, entries: [TWO_MODELS.entries[index]] });
  const out = join(dir, "out");
  await benchWith(["--suite", file, "--out", out, ...flags]);
  return out;
}

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: Error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.ok(!error.message.includes("\n"), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("--suite FILE with --set and --steps: resolved values in run.json; --resume keys on them", async () => {
  const dir = await Deno.makeTempDir();
  const file = await suiteFile(dir);
  const out = join(dir, "out");
  const flags = ["--suite", file, "--out", out, "--steps", "3"];
  const set = ["--set", "vae-mlp.learningRate=0.003", "--set", "vae-mlp.steps=7"];
  const results = await benchWith([...flags, ...set]);
  assert.deepEqual(results.map((r) => [r.model, r.suite, r.status]), [
    ["bernoulli", "two", "finished"],
    ["vae-mlp", "two", "finished"],
  ]);
  let byModel = await records(out);
  const vae = byModel["vae-mlp"][0] as { config: Record<string, unknown>; steps_done: number };
  assert.equal(vae.config.steps, 7); // --set model.steps wins over --steps
  assert.equal((vae.config.options as Record<string, unknown>).learningRate, 0.003);
  assert.equal((vae.config.options as Record<string, unknown>).batchSize, 16);
  assert.equal(vae.steps_done, 7);
  assert.equal((byModel.bernoulli[0].config as Record<string, unknown>).steps, 3);

  // The same command with --resume finds both runs done; another learning rate is another run.
  const again = await benchWith([...flags, ...set, "--resume"]);
  assert.deepEqual(again.map((r) => r.run_id), results.map((r) => r.run_id));
  await benchWith([...flags, "--set", "vae-mlp.learningRate=0.002", "--resume"]);
  byModel = await records(out);
  assert.equal(byModel.bernoulli.length, 1, "bernoulli's resolved config did not change");
  assert.equal(byModel["vae-mlp"].length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--budget images=N gives every model the same images: steps = ⌈N / batch size⌉", async () => {
  const dir = await Deno.makeTempDir();
  const file = await suiteFile(dir);
  const out = join(dir, "out");
  await benchWith([
    "--suite",
    file,
    "--out",
    out,
    "--budget",
    "images=100",
    "--set",
    "vae-mlp.batchSize=32",
  ]);
  const byModel = await records(out);
  const config = (model: string) => byModel[model][0].config as Record<string, unknown>;
  assert.deepEqual(config("bernoulli").budget, { images: 100 });
  assert.equal(config("bernoulli").steps, 7); // ⌈100 / 16⌉
  assert.equal(config("vae-mlp").steps, 4); // ⌈100 / 32⌉
  assert.equal(byModel["vae-mlp"][0].images_done, 128);
  assert.equal(byModel.bernoulli[0].images_done, 112);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--budget seconds=S trains each model for S seconds and records what it reached", async () => {
  const dir = await Deno.makeTempDir();
  const out = await benchOne(dir, 1, "--budget", "seconds=1.5");
  const [record] = (await records(out))["vae-mlp"] as {
    config: { steps: number | null; budget: unknown };
    steps_done: number;
    images_done: number;
  }[];
  assert.equal(record.config.steps, null);
  assert.deepEqual(record.config.budget, { seconds: 1.5 });
  assert.ok(record.steps_done >= 1);
  assert.equal(record.images_done, record.steps_done * 16);
  const metrics = JSON.parse(
    await Deno.readTextFile(
      join(
        out,
        "runs",
        (await Array.fromAsync(Deno.readDir(join(out, "runs"))))[0].name,
        "metrics.json",
      ),
    ),
  );
  assert.ok(metrics.metrics.train_seconds.value >= 1.5);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--epochs N: N passes over the training split in whole batches", async () => {
  const dir = await Deno.makeTempDir();
  const out = await benchOne(dir, 0, "--epochs", "2");
  const [record] = (await records(out)).bernoulli as { config: { steps: number } }[];
  assert.equal(record.config.steps, 2 * Math.floor(500 / 16)); // synthetic: 500 training images
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad suite files and overrides are one line naming the file or flag, the key and what was expected", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [unknown, RegExp][] = [
    [{ ...TWO_MODELS, iwaeK: -1 }, /two\.json: "iwaeK": expected an integer ≥ 0 \(got -1\)/],
    [
      { ...TWO_MODELS, entries: [{ model: "nope", steps: 1 }] },
      /"entries\[0\]\.model": expected one of bernoulli/,
    ],
    [
      { ...TWO_MODELS, entries: [{ model: "made", steps: "ten" }] },
      /"entries\[0\]\.steps": expected an integer ≥ 1 \(got "ten"\)/,
    ],
    [
      { ...TWO_MODELS, entries: [{ model: "made", steps: 1, option: {} }] },
      /"entries\[0\]\.option": unknown key \(expected one of model, steps, /,
    ],
    [{ ...TWO_MODELS, evalcount: 5 }, /"evalcount": unknown key \(expected one of name, /],
    [[], /"\(the file\)": expected a JSON object/],
  ];
  for (const [suite, pattern] of cases) {
    const file = await suiteFile(dir, suite);
    usageError(() => parseBenchArgs(["--suite", file]), pattern);
  }
  await Deno.writeTextFile(join(dir, "broken.json"), "{ half");
  usageError(() => parseBenchArgs(["--suite", join(dir, "broken.json")]), /broken\.json: not JSON/);
  usageError(
    () => parseBenchArgs(["--suite", join(dir, "absent.json")]),
    /absent\.json: cannot read it \(does not exist\)/,
  );
  usageError(() => parseBenchArgs(["--suite", "nosuch"]), /unknown suite "nosuch".*\.json/);
  // An option the schema does not know, or a value outside its range, in the file or on the line.
  const file = await suiteFile(dir, {
    ...TWO_MODELS,
    entries: [{ model: "vae-mlp", steps: 1, options: { latent: 0 } }],
  });
  usageError(
    () => parseBenchArgs(["--suite", file]),
    /two\.json vae-mlp\.latent: expected an integer ≥ 1/,
  );
  const ci = ["--suite", "ci"];
  usageError(
    () => parseBenchArgs([...ci, "--set", "vae-mlp.nope=1"]),
    /^--set vae-mlp\.nope: vae-mlp has no option "nope" \(expected one of steps, /,
  );
  usageError(
    () => parseBenchArgs([...ci, "--set", "vae-mlp.learningRate=fast"]),
    /^--set vae-mlp\.learningRate: expected a number > 0 \(got "fast"\)/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--set", "vae-mlp.steps=0"]),
    /^--set vae-mlp\.steps: expected an integer ≥ 1/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--set", "vae-mlp"]),
    /^--set: "vae-mlp" is not model\.key=value/,
  );
  usageError(() => parseBenchArgs([...ci, "--set", "nosuch.x=1"]), /unknown model "nosuch"/);
  usageError(
    () => parseBenchArgs([...ci, "--models", "made", "--set", "vae-mlp.latent=2"]),
    /^--set vae-mlp\.latent: vae-mlp is not in this run/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--steps", "3", "--budget", "images=10"]),
    /^--steps and --budget: give one of them/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--budget", "images=0"]),
    /^--budget: "images=0" is not a budget/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--budget", "epochs=3"]),
    /^--budget: "epochs=3" is not a budget \(expected images=N/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--budget", "images=9", "--set", "made.steps=3"]),
    /^--set made\.steps: not with --budget/,
  );
  usageError(
    () => parseBenchArgs([...ci, "--steps", "0"]),
    /^--steps: "0" is not a step count \(expected an integer ≥ 1\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the CLI: a bad --set is one line on stderr and exit 2, before any training", async () => {
  await withTempDir(async (out) => {
    const output = await cli(["bench", "--suite", "ci", "--dataset", "synthetic", "--out", out]
      .concat("--set", "vae-mlp.latent=-3"));
    assert.equal(output.code, 2);
    const stderr = output.stderr.trim();
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, /^genbench: --set vae-mlp\.latent: expected an integer ≥ 1 \(got "-3"\)$/);
  });
});

Deno.test("every built-in suite resolves against its models' option schemas", () => {
  for (const suite of Object.values(SUITES)) validateOverrides(suite, suite.entries, {});
});
