/**
 * Reproduction records (benchmarks/reproduction.ts) and their README table
 * (benchmarks/reproduction_table.ts), on run folders written here: a record copies its run and
 * derives result, budget, slope and gap from the copies; a tampered number, a stale reference or
 * a gap over 1 nat without a reason is refused in one line; the table says what is not yet run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../core/errors.ts";
import type { ModelSpec, PublishedReference } from "../../models/model.ts";
import {
  checkRecord,
  publishedEpochs,
  readRecords,
  recordFromRun,
  type RecordOptions,
  slopePerEpoch,
} from "../../benchmarks/reproduction.ts";
import {
  notYetRun,
  README_BEGIN,
  README_END,
  renderSection,
  renderTable,
  spliceReadme,
} from "../../benchmarks/reproduction_table.ts";
import { batchSizeOption } from "../../models/options.ts";

const REFERENCE: PublishedReference = {
  paper: "Germain et al. 2015, MADE",
  metric: "nll_nats",
  value: 88.04,
  unit: "nats",
  kind: "exact",
  dataset: "mnist",
  protocol: { binarization: "static", budget: "100 epochs, batch 100" },
  status: "confirmed",
};

const SPEC = {
  name: "made",
  family: "autoregressive",
  references: [REFERENCE],
} as unknown as ModelSpec;

/**
 * A finished run folder of `made` on MNIST: `steps` steps at batch 100 (two steps = 200 images),
 * a training loss falling by exactly 2 nats per epoch, and test NLL `nll`.
 */
async function runFolder(steps: number, nll: number): Promise<string> {
  const dir = join(await Deno.makeTempDir(), "runs", `made-mnist-seed1-${steps}`);
  await Deno.mkdir(dir, { recursive: true });
  const run = {
    run_id: `made-mnist-seed1-${steps}`,
    status: "finished",
    suite: "paper",
    model: "made",
    variant: null,
    seed: 1,
    config: { steps, input: "binary", options: { batchSize: 100, learningRate: 0.001 } },
    provenance: {
      backend: "cpu",
      adapter: null,
      dataset: { name: "mnist", train: 50_000, binarization_seed: 1 },
    },
    steps_done: steps,
    wall_seconds: 150,
  };
  const metrics = {
    model: "made",
    status: "finished",
    metrics: { nll_nats: { value: nll, unit: "nats", better: "lower", kind: "exact", n: 10_000 } },
  };
  const every = Math.max(1, Math.floor(steps / 100));
  const curve = [];
  for (let step = every; step <= steps; step += every) {
    const images = step * 100;
    curve.push(
      JSON.stringify({
        step,
        epoch: 0,
        images,
        seconds: step / 10,
        nll: 200 - 2 * images / 50_000,
      }),
    );
  }
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run));
  await Deno.writeTextFile(join(dir, "metrics.json"), JSON.stringify(metrics));
  await Deno.writeTextFile(join(dir, "curves.jsonl"), curve.join("\n") + "\n");
  return dir;
}

const OPTIONS: RecordOptions = {
  command: "deno task bench --suite paper --models made --backend cpu --seed 1",
  runPath: "results/runs/x",
  hardware: { cpu: "test cpu", cores: 2 },
  spec: SPEC,
  now: new Date("2026-11-29T12:00:00Z"),
};

Deno.test("a record derives budget, result, slope and gap from the run it copies", async () => {
  // 500 steps × 100 images = 1 epoch of 100.
  const record = await recordFromRun(await runFolder(500, 95.04), OPTIONS);
  assert.equal(record.budget.epochs, 1);
  assert.equal(record.budget.published_epochs, 100);
  assert.equal(record.budget.fraction, 0.01);
  assert.equal(record.result.value, 95.04);
  assert.equal(record.result.kind, "exact");
  assert.ok(Math.abs(record.gap.value - 7) < 1e-9);
  // Over 1 nat at 1% of the budget: the reason is the budget, measured.
  assert.equal(record.gap.reason, "budget: 1.0 of 100 epochs reached");
  assert.equal(record.curve.loss, "nll");
  assert.ok(Math.abs(record.curve.slope_per_epoch! - -2) < 1e-9, `${record.curve.slope_per_epoch}`);
  assert.equal(record.curve.head.length, 5);
  assert.deepEqual(record.reference, REFERENCE);
  assert.ok(record.protocol.some((l) => l.includes("paper: static")));
  // What a reader sees after a JSON round trip passes the same check.
  checkRecord(JSON.parse(JSON.stringify(record)), "r.json", [SPEC]);
});

Deno.test("a gap over 1 nat at the full budget needs a reason", async () => {
  const dir = await runFolder(50_000, 90.5); // 100 epochs
  await assert.rejects(() => recordFromRun(dir, OPTIONS), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /--reason: the gap is 2\.46 nats/);
    return true;
  });
  const record = await recordFromRun(dir, { ...OPTIONS, reason: "dynamic vs static training" });
  assert.equal(record.gap.reason, "dynamic vs static training");
  // Within 1 nat no reason is needed.
  assert.equal((await recordFromRun(await runFolder(50_000, 88.5), OPTIONS)).gap.reason, null);
});

Deno.test("a tampered, stale or reasonless record is refused in one line naming the field", async () => {
  const record = await recordFromRun(await runFolder(500, 95.04), OPTIONS);
  // deno-lint-ignore no-explicit-any
  const bad = (edit: (r: any) => void, field: RegExp) => {
    const copy = JSON.parse(JSON.stringify(record));
    edit(copy);
    assert.throws(() => checkRecord(copy, "r.json", [SPEC]), (e: Error) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, field);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  };
  bad((r) => r.result.value = 88.1, /r\.json: "result"/);
  bad((r) => r.metrics.metrics.nll_nats.value = 88.1, /"result"/);
  bad((r) => r.budget.epochs = 100, /"budget"/);
  bad((r) => r.gap.value = 0, /"gap\.value"/);
  bad((r) => r.gap.reason = null, /"gap\.reason"/);
  bad((r) => r.gap.reason = "two\nlines", /"gap\.reason"/);
  bad((r) => r.reference.value = 80, /"reference": expected one of made's references/);
  bad((r) => r.model = "nope", /"model"/);
  bad((r) => r.format = "v0", /"format"/);
  bad((r) => r.run.status = "interrupted", /"run\.status"/);
  bad((r) => r.curve.slope_per_epoch = 0, /"curve\.slope_per_epoch"/);
  bad((r) => {
    r.reference_in_spec = false;
  }, /"reference\.status"/);
});

Deno.test("only finished runs become records; a model without references says so", async () => {
  const dir = await runFolder(500, 95);
  const run = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
  await Deno.writeTextFile(
    join(dir, "run.json"),
    JSON.stringify({ ...run, status: "interrupted" }),
  );
  await assert.rejects(() => recordFromRun(dir, OPTIONS), /interrupted, not finished/);
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run));
  const bare = { ...SPEC, references: [] } as ModelSpec;
  await assert.rejects(
    () => recordFromRun(dir, { ...OPTIONS, spec: bare }),
    /made declares no published reference on mnist/,
  );
  // A comparison value the spec does not carry is allowed, marked, and never "confirmed".
  const closedForm = { ...REFERENCE, paper: "closed form", status: "unconfirmed" as const };
  const record = await recordFromRun(dir, { ...OPTIONS, spec: bare, reference: closedForm });
  assert.equal(record.reference_in_spec, false);
  checkRecord(JSON.parse(JSON.stringify(record)), "r.json", [bare]);
});

Deno.test("the slope is a least-squares fit per epoch; epochs are parsed from the budget", () => {
  const points = [0, 1, 2, 3].map((i) => ({ images: i * 25_000, loss: 10 - 3 * i + (i % 2) }));
  // Exact fit of y = 10 − 3i + (i mod 2) against x = i/2 epochs: slope (−2.8 per i) × 2.
  assert.ok(Math.abs(slopePerEpoch(points, "loss", 50_000)! - -5.6) < 1e-9);
  assert.equal(slopePerEpoch(points.slice(0, 1), "loss", 50_000), null);
  const at = (budget?: string) => publishedEpochs({ ...REFERENCE, protocol: { budget } });
  assert.equal(at("3,280 epochs at batch 20"), 3280);
  assert.equal(at("1 epoch"), 1);
  assert.equal(at("until early stopping"), null);
  assert.equal(at(undefined), null);
});

Deno.test("the table: a record's row, a not-yet-run row with its hours, the README splice", async () => {
  const record = await recordFromRun(await runFolder(500, 95.04), OPTIONS);
  const table = renderTable([record], [SPEC]);
  const [rows, notes] = table.split("\nProtocols and commands:\n\n");
  const lines = rows.trim().split("\n");
  assert.equal(lines.length, 3);
  // The paper's protocol in full, the genbench protocol, the command, the run and its commit.
  assert.match(lines[2], /\| static \[1\] +\|/);
  assert.match(
    notes,
    /^1\. `made` 88\.04 nats: static binarization, 100 epochs, batch 100\. genbench: /,
  );
  assert.match(notes, /`deno task bench --suite paper --models made --backend cpu --seed 1`/);
  assert.match(
    notes,
    /\(results\/runs\/x, commit\s+unknown,\s+3\s+min\s+wall\)\.\n$/,
  );
  assert.match(
    lines[0],
    /^\| model +\| published +\| genbench +\| kind +\| protocol +\| budget reached/,
  );
  assert.match(lines[2], /\| `made` +\| 88\.04 nats \(Germain et al\. 2015, MADE\) +\| 95\.04 /);
  assert.match(lines[2], /partial/);
  assert.match(lines[2], /1\.0 of 100 epochs \(1\.0%\), batch 100/);
  assert.match(lines[2], /\| \+7\.00 nats \(budget: 1\.0 of 100 epochs reached\) +\|$/);
  // Without a record: 100 epochs × 50,000 images at made's 3,400 img/s on the CPU ≈ 0.41 h.
  const empty = renderTable([], [SPEC]);
  assert.match(
    empty,
    /not yet run: 100 epochs need ~0\.41 CPU-hours \(3,400 img\/s\) or ~0\.47 GPU-hours/,
  );
  assert.match(
    notYetRun({ ...SPEC, name: "nobody" }, REFERENCE),
    /^not yet run: 100 epochs; speed on mnist not yet measured/,
  );
  // Speeds are of MNIST images: a CIFAR-10 reference is not sized with them.
  assert.match(
    notYetRun(SPEC, { ...REFERENCE, dataset: "cifar10" }),
    /^not yet run: 100 epochs; speed on cifar10 not yet measured/,
  );
  // A reference without a budget is sized by the paper suite (made: 39,000 steps at batch 128).
  const unsized = { ...REFERENCE, protocol: { binarization: "static" as const } };
  const withDefaults = { ...SPEC, options: { batchSize: batchSizeOption(128) } } as ModelSpec;
  assert.match(
    notYetRun(withDefaults, unsized),
    /^not yet run: the paper suite's 99\.8 epochs \(the reference states no budget\) need ~0\.41 CPU-hours/,
  );
  // A reference without a budget: the run is measured against the paper suite's, said so.
  const unsizedSpec = {
    ...SPEC,
    options: { batchSize: batchSizeOption(128) },
    references: [{ ...REFERENCE, protocol: { binarization: "static" } }],
  } as ModelSpec;
  const unsizedRecord = await recordFromRun(await runFolder(500, 95.04), {
    ...OPTIONS,
    spec: unsizedSpec,
    reason: "partial",
  });
  const unsizedRow = renderTable([unsizedRecord], [unsizedSpec]).split("\n")[2];
  assert.match(unsizedRow, /1\.0 of 99\.8 \(paper suite's\) epochs \(1\.0%\), batch 100/);
  assert.match(unsizedRow, /95\.04 \(exact, n = 10,000, partial\)/);
  const readme = `# x\n\n${README_BEGIN}\nold\n${README_END}\n\n## next\n`;
  const spliced = spliceReadme(readme, renderSection([record], [SPEC]), "README.md");
  assert.ok(spliced.startsWith(`# x\n\n${README_BEGIN}\n`));
  assert.ok(spliced.endsWith(`${README_END}\n\n## next\n`));
  assert.ok(spliced.includes(lines[2]));
  assert.throws(() => spliceReadme("# no markers\n", "", "README.md"), UsageError);
});

Deno.test("the rendered section is what deno fmt makes of it (formatting never changes it)", async () => {
  const record = await recordFromRun(await runFolder(500, 95.04), OPTIONS);
  const other = { ...SPEC, name: "nade", references: [{ ...REFERENCE, value: 88.86 }] };
  const section = renderSection([record], [SPEC, other as ModelSpec]);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "section.md");
  await Deno.writeTextFile(path, section + "\n");
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--line-width", "100", path],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(success);
  assert.equal(await Deno.readTextFile(path), section + "\n");
});

Deno.test("readRecords reads every record of a folder and refuses a bad one by file name", async () => {
  const dir = await Deno.makeTempDir();
  assert.deepEqual(await readRecords(join(dir, "absent"), [SPEC]), []);
  const record = await recordFromRun(await runFolder(500, 95.04), OPTIONS);
  await Deno.writeTextFile(join(dir, "a.json"), JSON.stringify(record));
  assert.equal((await readRecords(dir, [SPEC])).length, 1);
  await Deno.writeTextFile(join(dir, "b.json"), "{");
  await assert.rejects(() => readRecords(dir, [SPEC]), /b\.json: not valid JSON/);
});

Deno.test("a reference whose paper architecture is a variant has a row for it beside the canonical run's", async () => {
  const reference = { ...REFERENCE, variant: "paper-1x500" };
  const spec = { ...SPEC, references: [reference] } as ModelSpec;
  const canonical = await recordFromRun(await runFolder(500, 95.04), { ...OPTIONS, spec });
  const rowsOf = (records: typeof canonical[]) =>
    renderTable(records, [spec]).split("\nProtocols")[0].trim().split("\n").slice(2);
  const [run, paper] = rowsOf([canonical]);
  assert.match(run, /^\| `made` +\| 88\.04 nats .*\| 95\.04 /);
  assert.match(paper, /^\| `made` \(paper-1x500\) \| 88\.04 nats .*\| not yet run: /);
  const variant = { ...canonical, variant: "paper-1x500", recorded_at: "2030-01-01T00:00:00Z" };
  const both = rowsOf([canonical, variant]);
  assert.equal(both.length, 2);
  assert.match(both[1], /^\| `made` \(paper-1x500\) \| 88\.04 nats .*\| 95\.04 /);
});

Deno.test("a record states the run's training protocol: static bits, schedule, the best validation epoch", async () => {
  const dir = await runFolder(500, 95.04);
  const run = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
  run.config.training = {
    binarization: "static",
    schedule: { kind: "stages", epochs: [1, 3], factors: [1, 0.5] },
    earlyStopping: { patience: 30 },
  };
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run));
  const validation = [[1, 100, 120.5], [2, 200, 110.25], [3, 300, 111]]
    .map(([epoch, step, valid_nll]) => JSON.stringify({ epoch, step, valid_nll })).join("\n");
  await Deno.writeTextFile(join(dir, "validation.jsonl"), validation + "\n");
  const record = await recordFromRun(dir, { ...OPTIONS, reason: "partial" });
  assert.deepEqual(record.protocol.slice(0, 4), [
    "training: static binarization (one seeded draw of the training split, seed 1, standing in " +
    "for the historic file)",
    "test: genbench's seeded static binarization (seed 1), not the historic file",
    "Adam, lr 0.001 × stages [1 ep × 1, 3 ep × 0.5]",
    "selection: validation NLL after every epoch, patience 30; 3 epochs validated, the best " +
    "(epoch 2, 110.25 nats) evaluated",
  ]);
});

Deno.test("a record names the optimizer a run was made with (AdaGrad where the model has it)", async () => {
  const dir = await runFolder(500, 95.04);
  const run = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
  run.config.options = { ...run.config.options, optimizer: "adagrad", learningRate: 0.01 };
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run));
  const record = await recordFromRun(dir, { ...OPTIONS, reason: "partial" });
  assert.ok(record.protocol.includes("AdaGrad, constant lr 0.01"), record.protocol.join("\n"));
});

Deno.test("a run that early stopping ended before its cap is not partial: its row says so", async () => {
  // 25,000 steps of a 50,000-step cap = 50 of the reference's 100 epochs.
  const dir = await runFolder(25_000, 88.5);
  const run = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
  const rowOf = async () => {
    await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run));
    const record = await recordFromRun(dir, OPTIONS);
    return renderTable([record], [SPEC]).split("\n")[2];
  };
  run.config.steps = 50_000;
  run.config.training = { binarization: "static", schedule: null, earlyStopping: null };
  assert.match(
    await rowOf(),
    /88\.50 \(exact, n = 10,000, partial\) .*\| 50\.0 of 100 epochs \(50%\)/,
  );
  run.config.training.earlyStopping = { patience: 30 };
  const stopped = await rowOf();
  assert.match(stopped, /\| 88\.50 \(exact, n = 10,000\) \|/);
  assert.match(stopped, /\| 50\.0 epochs \(early stopping, patience 30\), batch 100 /);
  // At its cap, a run with early stopping was stopped by the cap: its share is shown.
  run.config.steps = 25_000;
  assert.match(await rowOf(), /partial.*\| 50\.0 of 100 epochs \(50%\)/);
});
