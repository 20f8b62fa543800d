/**
 * Reproduction records: a finished run compared with the published number it reproduces.
 * One JSON file per run under `benchmarks/reproductions/`, made from the run's folder by
 * `deno task reproductions record <run dir>`. A record copies the run's `run.json` and
 * `metrics.json` verbatim (full provenance and resolved config), the head and tail of its learning
 * curve, the command that made it, the hardware, and the reference it is compared against; the
 * derived fields (result, budget, gap) are recomputed from those copies when a record is read,
 * so a hand-edited number is caught. The README table is rendered from the records
 * (benchmarks/reproduction_table.ts); CI never retrains them.
 */
import { isDeepStrictEqual } from "node:util";
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import { MAX_BYTES, readTextFileLimited } from "../core/files.ts";
import type { ModelSpec, PublishedReference } from "../models/model.ts";
import { VALIDATION_FILE, type ValidationPoint } from "./protocol.ts";
import { protocolLines } from "./reproduction_protocol.ts";

export const RECORD_FORMAT = "genbench-reproduction/1";
/** Where the records live, relative to the project root. */
export const RECORDS_DIR = "benchmarks/reproductions";
/** A gap larger than this (nats) needs a one-line reason. */
export const GAP_NEEDING_REASON = 1;
/**
 * Curve points kept from the start (for the re-run check) and from the end (for the slope): a
 * run logs about 100 points, so the slope is fitted over its last quarter, which averages out
 * the noise of single training batches.
 */
export const CURVE_HEAD = 5;
export const CURVE_TAIL = 25;

/** One logged training step of `curves.jsonl`: step, epoch, images, seconds and the losses. */
export type CurvePoint = Record<string, number>;

/** Where the run was made. Runs record their backend and GPU adapter, not the CPU. */
export interface Hardware {
  cpu: string;
  cores: number;
  /** The GPU adapter from the run's provenance (null: none used). */
  gpu: string | null;
  backend: string;
}

export interface ReproductionRecord {
  format: typeof RECORD_FORMAT;
  model: string;
  variant: string | null;
  dataset: string;
  /** The command that made the run (re-running it on the same backend gives the same curve). */
  command: string;
  /** The run folder it came from, relative to the project root where possible. */
  run_path: string;
  recorded_at: string;
  hardware: Hardware;
  /** The number compared against; a copy of one of the model's `references` when `in_spec`. */
  reference: PublishedReference;
  /** False only for a comparison value the model spec does not carry (e.g. a closed form). */
  reference_in_spec: boolean;
  /** genbench's value of `reference.metric`, with its kind as in the reference ("iwae-5000"). */
  result: { metric: string; value: number; unit: string; kind: string; n: number | null };
  budget: Budget;
  /** How the run's protocol differs from the paper's, one line each. */
  protocol: string[];
  curve: {
    /** The training loss the slope is taken of (the first loss of the curve). */
    loss: string | null;
    head: CurvePoint[];
    tail: CurvePoint[];
    /** Least-squares slope of `loss` per epoch over `tail` (negative: still improving). */
    slope_per_epoch: number | null;
  };
  /** genbench − published (positive: genbench is worse, for lower-is-better metrics). */
  gap: { value: number; reason: string | null };
  /** `run.json` and `metrics.json` of the run, verbatim. */
  run: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

export interface Budget {
  steps_done: number;
  batch_size: number;
  images: number;
  epochs: number;
  /** Parsed from the reference's `protocol.budget` (null where it states no epochs). */
  published_epochs: number | null;
  /** `epochs / published_epochs`, null where the published budget is unknown. */
  fraction: number | null;
}

// ---------------------------------------------------------------------------------------------
// Derived fields, computed the same way when a record is made and when it is checked.

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads nested fields of a JSON value, failing with one line that names the file and key. */
class Fields {
  constructor(readonly source: string) {}
  fail(key: string, expected: string): never {
    throw new UsageError(`${this.source}: "${key}": expected ${expected}`);
  }
  get(value: unknown, path: string): unknown {
    let at: unknown = value;
    for (const key of path.split(".")) {
      if (!isObject(at)) this.fail(path, "an object on the way");
      at = (at as Json)[key];
    }
    return at;
  }
  number(value: unknown, path: string): number {
    const v = this.get(value, path);
    return typeof v === "number" && Number.isFinite(v) ? v : this.fail(path, "a finite number");
  }
  string(value: unknown, path: string): string {
    const v = this.get(value, path);
    return typeof v === "string" && v.length > 0 ? v : this.fail(path, "a non-empty string");
  }
  object(value: unknown, path: string): Json {
    const v = this.get(value, path);
    return isObject(v) ? v : this.fail(path, "an object");
  }
}

/** The first number in "100 epochs", "3,280 epochs at batch 100", else null. */
export function publishedEpochs(reference: PublishedReference): number | null {
  const match = /([\d][\d,]*(?:\.\d+)?)\s*epochs?\b/i.exec(reference.protocol.budget ?? "");
  return match ? Number(match[1].replaceAll(",", "")) : null;
}

/** A metric value's kind as a reference writes it: "exact", "elbo", "iwae-5000". */
function kindOf(metric: Json): string {
  const kind = typeof metric.kind === "string" ? metric.kind : "unknown";
  return kind === "iwae-k" && typeof metric.k === "number" ? `iwae-${metric.k}` : kind;
}

function budgetOf(run: Json, reference: PublishedReference, f: Fields): Budget {
  const steps = f.number(run, "steps_done");
  const batch = f.number(run, "config.options.batchSize");
  const train = f.number(run, "provenance.dataset.train");
  const images = steps * Math.min(batch, train);
  const epochs = images / train;
  const published = publishedEpochs(reference);
  return {
    steps_done: steps,
    batch_size: batch,
    images,
    epochs,
    published_epochs: published,
    fraction: published ? epochs / published : null,
  };
}

function resultOf(metrics: Json, reference: PublishedReference, f: Fields) {
  const metric = f.object(metrics, `metrics.${reference.metric}`);
  return {
    metric: reference.metric,
    value: f.number(metric, "value"),
    unit: f.string(metric, "unit"),
    kind: kindOf(metric),
    n: typeof metric.n === "number" ? metric.n : null,
  };
}

/**
 * Least-squares slope of `loss` per epoch over the points (null with fewer than 2), epochs
 * measured as images / `imagesPerEpoch` so that every logged point has its own abscissa.
 */
export function slopePerEpoch(
  points: CurvePoint[],
  loss: string | null,
  imagesPerEpoch: number,
): number | null {
  if (loss === null) return null;
  const xy = points
    .filter((p) => Number.isFinite(p[loss]) && Number.isFinite(p.images))
    .map((p) => [p.images / imagesPerEpoch, p[loss]] as const);
  if (xy.length < 2) return null;
  const mx = xy.reduce((s, [x]) => s + x, 0) / xy.length;
  const my = xy.reduce((s, [, y]) => s + y, 0) / xy.length;
  let sxy = 0, sxx = 0;
  for (const [x, y] of xy) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

const TIMING_KEYS = new Set(["seconds"]);
const CURVE_KEYS = new Set(["step", "epoch", "images", "seconds"]);

/** The loss a curve is judged by: its first key that is not a counter or a time. */
export function lossName(points: CurvePoint[]): string | null {
  return Object.keys(points[0] ?? {}).find((key) => !CURVE_KEYS.has(key)) ?? null;
}

/** Curve points without their timings: what a re-run must reproduce exactly. */
export function withoutTimings(point: CurvePoint): CurvePoint {
  return Object.fromEntries(Object.entries(point).filter(([key]) => !TIMING_KEYS.has(key)));
}

/** Lines of `curves.jsonl` as points. */
export function parseCurves(text: string, source: string): CurvePoint[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    let point: unknown;
    try {
      point = JSON.parse(line);
    } catch {
      throw new UsageError(`${source}: line ${i + 1} is not valid JSON`);
    }
    if (!isObject(point) || !Object.values(point).every((v) => typeof v === "number")) {
      throw new UsageError(`${source}: line ${i + 1}: expected an object of numbers`);
    }
    return point as CurvePoint;
  });
}

// ---------------------------------------------------------------------------------------------
// Making a record from a run folder.

export interface RecordOptions {
  command: string;
  runPath: string;
  hardware: { cpu: string; cores: number };
  /** The model's spec (its references are the candidates). */
  spec: ModelSpec;
  /** Index into `spec.references`; needed when more than one fits the run's dataset. */
  referenceIndex?: number;
  /** A comparison value the spec does not carry (e.g. the closed form of the floor). */
  reference?: PublishedReference;
  /** Why the gap is what it is; required over {@link GAP_NEEDING_REASON} nats. */
  reason?: string;
  /** Further protocol differences to state, one line each. */
  notes?: string[];
  now?: Date;
}

async function readJsonFile(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readTextFileLimited(path, MAX_BYTES.runJson, "run file");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    const value = JSON.parse(text);
    if (isObject(value)) return value;
  } catch { /* said below */ }
  throw new UsageError(`${path}: expected a JSON object`);
}

function chooseReference(spec: ModelSpec, dataset: string, options: RecordOptions) {
  if (options.reference) return { reference: options.reference, inSpec: false };
  const all = spec.references ?? [];
  if (options.referenceIndex !== undefined) {
    const chosen = all[options.referenceIndex];
    if (!chosen) {
      throw new UsageError(
        `--reference ${options.referenceIndex}: ${spec.name} has ${all.length} reference(s)`,
      );
    }
    return { reference: chosen, inSpec: true };
  }
  const fitting = all.filter((r) => r.dataset === dataset);
  if (fitting.length === 1) return { reference: fitting[0], inSpec: true };
  const listed = all.map((r, i) => `${i}: ${r.value} ${r.unit} ${r.kind} (${r.paper})`).join("; ");
  throw new UsageError(
    fitting.length === 0
      ? `${spec.name} declares no published reference on ${dataset} (its spec's \`references\`)`
      : `--reference: ${spec.name} has ${fitting.length} references on ${dataset}, pick one: ${listed}`,
  );
}

/** The validation curve of an early-stopped run (empty when it has none). */
async function readValidation(runDir: string): Promise<ValidationPoint[]> {
  const path = join(runDir, VALIDATION_FILE);
  const text = await readTextFileLimited(path, MAX_BYTES.curves, "validation curve").catch(
    (error) => {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    },
  );
  return parseCurves(text, path) as unknown as ValidationPoint[];
}

/** Why the gap is over 1 nat, as far as the record itself shows it. */
function measuredReasons(record: Omit<ReproductionRecord, "gap">): string[] {
  const reasons: string[] = [];
  const { budget, result, reference } = record;
  if (budget.fraction !== null && budget.fraction < 0.999) {
    reasons.push(
      `budget: ${formatEpochs(budget.epochs)} of ${budget.published_epochs} epochs reached`,
    );
  }
  if (result.kind !== reference.kind) {
    reasons.push(`estimate: ${result.kind}, the paper's is ${reference.kind}`);
  }
  return reasons;
}

export function formatEpochs(epochs: number): string {
  return epochs >= 100 ? epochs.toFixed(0) : epochs >= 1 ? epochs.toFixed(1) : epochs.toFixed(3);
}

/** The record of the finished run in `runDir`. */
export async function recordFromRun(
  runDir: string,
  options: RecordOptions,
): Promise<ReproductionRecord> {
  const run = await readJsonFile(join(runDir, "run.json"));
  const metrics = await readJsonFile(join(runDir, "metrics.json"));
  const curvesPath = join(runDir, "curves.jsonl");
  const curves = parseCurves(
    await readTextFileLimited(curvesPath, MAX_BYTES.curves, "curves").catch((error) => {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }),
    curvesPath,
  );
  const f = new Fields(join(runDir, "run.json"));
  if (run.status !== "finished" || metrics.status !== "finished") {
    throw new UsageError(
      `${runDir}: the run is ${String(run.status)}, not finished (finish it with --resume first)`,
    );
  }
  const model = f.string(run, "model");
  if (model !== options.spec.name) {
    throw new UsageError(`${runDir}: a run of ${model}, not ${options.spec.name}`);
  }
  const dataset = f.string(run, "provenance.dataset.name");
  const { reference, inSpec } = chooseReference(options.spec, dataset, options);
  const result = resultOf(metrics, reference, new Fields(join(runDir, "metrics.json")));
  const loss = lossName(curves);
  const tail = curves.slice(-CURVE_TAIL);
  const partial: Omit<ReproductionRecord, "gap"> = {
    format: RECORD_FORMAT,
    model,
    variant: (run.variant as string | null) ?? null,
    dataset,
    command: options.command,
    run_path: options.runPath,
    recorded_at: (options.now ?? new Date()).toISOString(),
    hardware: {
      ...options.hardware,
      gpu: (f.get(run, "provenance.adapter") as string | null) ?? null,
      backend: f.string(run, "provenance.backend"),
    },
    reference,
    reference_in_spec: inSpec,
    result,
    budget: budgetOf(run, reference, f),
    protocol: [
      ...protocolLines(
        run,
        reference,
        result,
        (metrics.metrics as Json)[reference.metric] as Json,
        await readValidation(runDir),
      ),
      ...(options.notes ?? []),
    ],
    curve: { loss, head: curves.slice(0, CURVE_HEAD), tail, slope_per_epoch: null },
    run,
    metrics,
  };
  partial.curve.slope_per_epoch = slopePerEpoch(
    tail,
    loss,
    f.number(run, "provenance.dataset.train"),
  );
  const gap = result.value - reference.value;
  let reason = options.reason?.trim() || null;
  if (Math.abs(gap) > GAP_NEEDING_REASON && reason === null) {
    const measured = measuredReasons(partial);
    if (measured.length === 0) {
      throw new UsageError(
        `--reason: the gap is ${gap.toFixed(2)} ${reference.unit}, over ` +
          `${GAP_NEEDING_REASON}: say why in one line`,
      );
    }
    reason = measured.join("; ");
  }
  return { ...partial, gap: { value: gap, reason } };
}

// ---------------------------------------------------------------------------------------------
// Checking a record.

/**
 * Parse and check a record read from `source`: every field present and typed, the derived
 * fields equal to what its copied run files give, its reference still one of the model's (when
 * `in_spec`), and a one-line reason for every gap over {@link GAP_NEEDING_REASON}.
 */
export function checkRecord(
  value: unknown,
  source: string,
  specs: readonly ModelSpec[],
): ReproductionRecord {
  const f = new Fields(source);
  if (!isObject(value)) return f.fail("(top level)", "a JSON object");
  if (value.format !== RECORD_FORMAT) f.fail("format", `"${RECORD_FORMAT}"`);
  const record = value as unknown as ReproductionRecord;
  const model = f.string(value, "model");
  const spec = specs.find((s) => s.name === model) ?? f.fail("model", "a registered model");
  for (const key of ["command", "run_path", "recorded_at", "dataset", "hardware.cpu"]) {
    f.string(value, key);
  }
  f.number(value, "hardware.cores");
  const run = f.object(value, "run");
  const metrics = f.object(value, "metrics");
  const reference = f.object(value, "reference") as unknown as PublishedReference;
  f.number(value, "reference.value");
  f.string(value, "reference.metric");
  f.string(value, "reference.paper");
  if (typeof record.reference_in_spec !== "boolean") f.fail("reference_in_spec", "true or false");
  if (
    record.reference_in_spec &&
    !(spec.references ?? []).some((r) => isDeepStrictEqual(r, reference))
  ) {
    f.fail("reference", `one of ${model}'s references as its spec declares them now (re-record)`);
  }
  if (!record.reference_in_spec && reference.status === "confirmed") {
    f.fail("reference.status", `"unconfirmed" for a value the model's spec does not carry`);
  }
  if (f.string(run, "model") !== model) f.fail("run.model", `"${model}"`);
  if (run.status !== "finished") f.fail("run.status", `"finished"`);
  const same = (key: string, expected: unknown, actual: unknown) => {
    if (!isDeepStrictEqual(expected, actual)) {
      f.fail(key, `${JSON.stringify(expected)} (what the copied run files give)`);
    }
  };
  same("result", resultOf(metrics, reference, f), record.result);
  same("budget", budgetOf(run, reference, f), record.budget);
  if (!Array.isArray(record.protocol) || !record.protocol.every((l) => typeof l === "string")) {
    f.fail("protocol", "a list of lines");
  }
  const curve = f.object(value, "curve");
  if (!Array.isArray(curve.head) || !Array.isArray(curve.tail)) f.fail("curve", "head and tail");
  same(
    "curve.slope_per_epoch",
    slopePerEpoch(record.curve.tail, record.curve.loss, f.number(run, "provenance.dataset.train")),
    record.curve.slope_per_epoch,
  );
  same("gap.value", record.result.value - reference.value, f.number(value, "gap.value"));
  const reason = record.gap.reason;
  if (
    reason !== null && (typeof reason !== "string" || reason.trim() === "" || /\n/.test(reason))
  ) {
    f.fail("gap.reason", "one line, or null");
  }
  if (Math.abs(record.gap.value) > GAP_NEEDING_REASON && reason === null) {
    f.fail("gap.reason", `a one-line reason (the gap is over ${GAP_NEEDING_REASON})`);
  }
  return record;
}

/** Every record under `dir` (sorted by file name), checked. */
export async function readRecords(
  dir: string,
  specs: readonly ModelSpec[],
): Promise<{ path: string; record: ReproductionRecord }[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new UsageError(`${dir}: cannot read (${(error as Error).message})`);
  }
  names.sort();
  const out = [];
  for (const name of names) {
    const path = join(dir, name);
    const text = await readTextFileLimited(path, MAX_BYTES.runJson, "reproduction record");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`${path}: not valid JSON`);
    }
    out.push({ path, record: checkRecord(value, path, specs) });
  }
  return out;
}

/** The file name of a record: the run's id. */
export function recordFileName(record: ReproductionRecord): string {
  const id = typeof record.run.run_id === "string" ? record.run.run_id : record.model;
  return `${id}.json`;
}
