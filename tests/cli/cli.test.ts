import assert from "node:assert/strict";
import { join } from "node:path";
import { listText, modelText } from "../../cli/list.ts";
import { getModel, MODELS } from "../../models/registry.ts";
import { parseBenchArgs } from "../../cli/bench.ts";
import { cli as run } from "../_run.ts";

const cli = (...args: string[]) => run(args);

Deno.test("flags parse into options; seeds combine and deduplicate", () => {
  const options = parseBenchArgs(["--suite", "ci", "--seed", "1", "--seeds", "2,3", "--seed", "2"]);
  assert.notEqual(options, "help");
  if (options === "help") return;
  assert.deepEqual(options.seeds, [1, 2, 3]);
  assert.equal(options.suite, "ci");
  assert.equal(options.backend, "auto");
  assert.equal(options.out, "results");
  assert.equal(parseBenchArgs(["--help"]), "help");
});

Deno.test("bad input: one line on stderr, exit 2, nothing written", async () => {
  const out = await Deno.makeTempDir();
  const blocked = join(out, "file");
  await Deno.writeTextFile(blocked, "not a folder");
  const cases: [string[], RegExp][] = [
    [["bench", "--models", "nope"], /--models: unknown model "nope"/],
    [["bench", "--suite", "huge"], /--suite: unknown suite "huge"/],
    [["bench", "--dataset", "cifar99"], /--dataset: unknown dataset "cifar99"/],
    [["bench", "--backend", "cuda"], /--backend: unknown backend "cuda"/],
    [["bench", "--seed", "abc"], /--seed: "abc" is not a seed/],
    [["bench", "--seeds", "1,-2"], /--seeds: "-2" is not a seed/],
    [["bench", "--frobnicate"], /bench: unknown flag --frobnicate \(expected --suite, /],
    [
      ["bench", "--data-dir", join(out, "missing"), "--out", join(out, "o1")],
      /--data-dir .*missing: does not exist/,
    ],
    [["bench", "--out", join(blocked, "sub")], /--out .*: cannot write there/],
    [
      [
        "bench",
        "--backend",
        "tensorflow",
        "--out",
        join(out, "o2"),
        "--suite",
        "ci",
        "--dataset",
        "synthetic",
      ],
      /tfjs-node-gpu is not installed; .*deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/,
    ],
    [["frob"], /unknown command "frob"/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await cli(...args);
    assert.equal(code, 2, `${args.join(" ")}: exit ${code}, stderr ${stderr}`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${stderr}`);
    assert.match(lines[0], pattern);
    assert.match(lines[0], /^genbench: /);
  }
  // No run folder was started by any of them.
  for (const name of ["o1", "o2"]) {
    const runs = join(out, name, "runs");
    const entries = await Array.fromAsync(Deno.readDir(runs)).catch(() => []);
    assert.equal(entries.length, 0, `${runs} has ${entries.length} entries`);
  }
  await Deno.remove(out, { recursive: true });
});

Deno.test("a truncated or wrong-magic IDX file in --data-dir is one line, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const { encodeIdx } = await import("../../datasets/idx.ts");
  const { MNIST_FILES } = await import("../../datasets/mnist.ts");
  await Deno.writeFile(join(dir, MNIST_FILES.trainLabels), encodeIdx([2], new Uint8Array(2)));
  await Deno.writeFile(
    join(dir, MNIST_FILES.testImages),
    encodeIdx([1, 28, 28], new Uint8Array(784)),
  );
  await Deno.writeFile(join(dir, MNIST_FILES.testLabels), encodeIdx([1], new Uint8Array(1)));
  const images = encodeIdx([2, 28, 28], new Uint8Array(2 * 784));
  await Deno.writeFile(join(dir, MNIST_FILES.trainImages), images.subarray(0, 100));
  const truncated = await cli("bench", "--data-dir", dir, "--out", join(dir, "out"));
  assert.equal(truncated.code, 2);
  assert.match(
    truncated.stderr.trim(),
    /^genbench: .*train-images-idx3-ubyte: truncated IDX data \(84 of 1568 bytes/,
  );
  await Deno.writeFile(join(dir, MNIST_FILES.trainImages), Uint8Array.from([8, 0, 8, 3]));
  const magic = await cli("bench", "--data-dir", dir, "--out", join(dir, "out"));
  assert.equal(magic.code, 2);
  assert.match(magic.stderr.trim(), /not an IDX file \(magic number starts 0x0800/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("list names every model with its family and capabilities, every suite and metric", () => {
  const text = listText();
  for (
    const word of [
      "bernoulli",
      "vae-mlp",
      "gan-mlp",
      "autoregressive",
      "latent-variable",
      "adversarial",
      "exact-likelihood",
      "quick",
      "paper",
      "nll_nats",
      "bpd",
    ]
  ) {
    assert.ok(text.includes(word), word);
  }
});

Deno.test("list shows every model's options and published numbers; list MODEL shows them in full", async () => {
  const text = listText();
  for (const spec of MODELS) {
    const keys = Object.keys(spec.options);
    assert.ok(keys.length > 0, `${spec.name} declares no options`);
    for (const key of keys) assert.ok(text.includes(`${key}=`), `${spec.name}.${key}`);
    for (const ref of spec.references ?? []) {
      assert.ok(text.includes(`${ref.value} ${ref.unit}`), `${spec.name}: ${ref.value}`);
    }
  }
  const made = modelText(getModel("made"));
  assert.match(made, /learningRate +a number > 0; default 0\.001/);
  assert.match(made, /88\.04 nats exact/);
  assert.match(made, /binarization: static/);
  const bad = await cli("list", "nosuch");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^genbench: list: unknown model "nosuch"/);
});
