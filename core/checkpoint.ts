/**
 * Weights and training checkpoints on disk. `weights.bin`: one file holding a JSON header
 * (names, shapes, offsets) and the float32 data. `checkpoint.bin`: the same layout with a
 * version and a checksum, holding the model's weights, every optimizer's state and the runner's
 * state (step, random streams, data order, curves), so that a run resumes exactly. Both are
 * written atomically; loading checks every name and shape against the model.
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import { MAX_BYTES, readFileLimited, writeFileAtomic } from "./files.ts";
import { type Refusal, refusalFor, UsageError } from "./errors.ts";

/** What a checkpoint holds of a model (a `GenerativeModel` of models/model.ts has both). */
export interface Checkpointable {
  weights(): Map<string, tf.Variable>;
  optimizers(): tf.Optimizer[];
}

const FORMAT = "genbench-weights";
const VERSION = 1;

interface Header {
  format: string;
  version: number;
  tensors: { name: string; shape: number[]; offset: number }[];
}

/** Serialize named tensors: uint32 header length (LE), JSON header, float32 data. */
export async function encodeWeights(weights: Map<string, tf.Tensor>): Promise<Uint8Array> {
  const tensors: Header["tensors"] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, tensor] of weights) {
    tensors.push({ name, shape: tensor.shape, offset });
    parts.push(await tensor.data() as Float32Array);
    offset += tensor.size;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ format: FORMAT, version: VERSION, tensors }),
  );
  const dataStart = 4 + header.length + ((4 - (header.length % 4)) % 4);
  const out = new Uint8Array(dataStart + offset * 4);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  const data = new Float32Array(out.buffer, dataStart, offset);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return out;
}

/** Save `weights` to `path` atomically. */
export async function saveWeights(path: string, weights: Map<string, tf.Tensor>): Promise<void> {
  await writeFileAtomic(path, await encodeWeights(weights));
}

/** Read `path` and assign its values to `weights`, checking names, shapes and sizes. */
export async function loadWeights(path: string, weights: Map<string, tf.Variable>): Promise<void> {
  const bytes = await readCheckpointBytes(path);
  const fail: Refusal = refusalFor(path);
  if (bytes.length < 4) fail("truncated checkpoint (no header)");
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (4 + headerLength > bytes.length) fail("truncated checkpoint header");
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength)));
  } catch {
    return fail("checkpoint header is not valid JSON");
  }
  if (header.format !== FORMAT || header.version !== VERSION) {
    fail(`not a ${FORMAT} v${VERSION} file (found ${header.format} v${header.version})`);
  }
  const dataStart = 4 + headerLength + ((4 - (headerLength % 4)) % 4);
  const floats = (bytes.length - dataStart) / 4;
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  for (const [name, variable] of weights) {
    const entry = byName.get(name) ?? fail(`checkpoint has no tensor "${name}"`);
    if (entry.shape.join(",") !== variable.shape.join(",")) {
      fail(
        `tensor "${name}" has shape [${entry.shape}] in the checkpoint, the model expects [${variable.shape}]`,
      );
    }
    if (entry.offset + variable.size > floats) fail(`truncated checkpoint data at "${name}"`);
  }
  if (byName.size !== weights.size) {
    const extra = [...byName.keys()].filter((name) => !weights.has(name));
    fail(`checkpoint has tensors the model lacks: ${extra.join(", ")}`);
  }
  const data = new Float32Array(bytes.slice(dataStart, dataStart + Math.floor(floats) * 4).buffer);
  for (const [name, variable] of weights) {
    const { offset } = byName.get(name)!;
    tf.tidy(() =>
      variable.assign(tf.tensor(data.subarray(offset, offset + variable.size), variable.shape))
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Training checkpoints: everything a run needs to continue exactly where it stopped.

/** The format name and version of a training checkpoint; a reader refuses any other. */
export const CHECKPOINT_FORMAT = "genbench-checkpoint";
export const CHECKPOINT_VERSION = 1;

/** Element types a checkpoint stores (4 bytes each). */
export type BlobDtype = "float32" | "int32" | "uint32";
type BlobData = Float32Array | Int32Array | Uint32Array;

/** One named array of a checkpoint. */
export interface Blob {
  name: string;
  dtype: BlobDtype;
  shape: number[];
  data: BlobData;
}

interface BlobEntry {
  name: string;
  dtype: BlobDtype;
  shape: number[];
  /** Element offset into the data section. */
  offset: number;
}

interface CheckpointHeader {
  format: string;
  version: number;
  /** sha256 (hex) of the data section, so a damaged file is refused rather than half-loaded. */
  sha256: string;
  /** The runner's own state (step, streams, curves…) and the optimizer layout. */
  meta: CheckpointMeta;
  blobs: BlobEntry[];
}

/** The JSON part of a training checkpoint. */
export interface CheckpointMeta {
  /** Whatever the runner needs to continue (validated by the runner). */
  run: Record<string, unknown>;
  /** Per optimizer: how many `getWeights()` entries and which internal variables were saved. */
  optimizers: { weights: number; internals: string[] }[];
}

/** A decoded training checkpoint. */
export interface TrainingCheckpoint {
  meta: CheckpointMeta;
  blobs: Map<string, Blob>;
}

const ARRAYS = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array };

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Serialize: uint32 header length (LE), JSON header, padding to 4 bytes, then the arrays. */
export function encodeCheckpoint(meta: CheckpointMeta, blobs: Blob[]): Uint8Array {
  const entries: BlobEntry[] = [];
  let offset = 0;
  for (const blob of blobs) {
    entries.push({ name: blob.name, dtype: blob.dtype, shape: blob.shape, offset });
    offset += blob.data.length;
  }
  const data = new Uint8Array(offset * 4);
  for (const [i, blob] of blobs.entries()) {
    const bytes = new Uint8Array(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength);
    data.set(bytes, entries[i].offset * 4);
  }
  const header = new TextEncoder().encode(JSON.stringify(
    {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      sha256: sha256(data),
      meta,
      blobs: entries,
    } satisfies CheckpointHeader,
  ));
  const dataStart = 4 + header.length + ((4 - (header.length % 4)) % 4);
  const out = new Uint8Array(dataStart + data.length);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  out.set(data, dataStart);
  return out;
}

const isShape = (shape: unknown): shape is number[] =>
  Array.isArray(shape) && shape.every((n) => Number.isInteger(n) && n >= 0);

/** Parse and verify a checkpoint; every problem is one {@link UsageError} naming `source`. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): TrainingCheckpoint {
  const fail: Refusal = refusalFor(source);
  if (bytes.length < 4) fail(`truncated checkpoint (${bytes.length} bytes, no header)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (4 + headerLength > bytes.length) fail("truncated checkpoint header");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(4, 4 + headerLength),
    ));
  } catch {
    return fail("checkpoint header is not valid JSON");
  }
  if (typeof header !== "object" || header === null) fail("checkpoint header is not an object");
  if (header.format !== CHECKPOINT_FORMAT) {
    fail(`not a ${CHECKPOINT_FORMAT} file (format ${JSON.stringify(header.format)})`);
  }
  if (header.version !== CHECKPOINT_VERSION) {
    fail(
      `checkpoint version ${JSON.stringify(header.version)} is not supported (this genbench ` +
        `reads version ${CHECKPOINT_VERSION}); start the run again without --resume`,
    );
  }
  const meta = header.meta;
  if (
    typeof meta !== "object" || meta === null || typeof meta.run !== "object" ||
    meta.run === null || !Array.isArray(meta.optimizers) ||
    !meta.optimizers.every((o) =>
      Number.isInteger(o?.weights) && Array.isArray(o.internals) &&
      o.internals.every((name) => typeof name === "string")
    ) || !Array.isArray(header.blobs)
  ) {
    fail("checkpoint header lacks its run state, optimizer layout or array list");
  }
  const dataStart = 4 + headerLength + ((4 - (headerLength % 4)) % 4);
  const data = bytes.subarray(Math.min(dataStart, bytes.length));
  const elements = Math.floor(data.length / 4);
  const blobs = new Map<string, Blob>();
  let end = 0;
  for (const entry of header.blobs) {
    const { name, dtype, shape, offset } = entry ?? {};
    if (typeof name !== "string" || !Object.hasOwn(ARRAYS, dtype) || !isShape(shape)) {
      fail(`checkpoint array ${JSON.stringify(name)} has a bad name, type or shape`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(offset) || offset < 0) {
      fail(`checkpoint array "${name}" has a bad offset`);
    }
    if (offset + size > elements) fail(`truncated checkpoint data at "${name}"`);
    end = Math.max(end, offset + size);
    // Copy, so that the arrays are aligned and independent of the file's buffer.
    const copy = data.slice(offset * 4, (offset + size) * 4);
    blobs.set(name, { name, dtype, shape, data: new ARRAYS[dtype](copy.buffer) });
  }
  if (data.length !== end * 4) fail(`${data.length - end * 4} unexpected bytes after the data`);
  if (sha256(data) !== header.sha256) fail("checkpoint data does not match its checksum (damaged)");
  return { meta, blobs };
}

/** Read and decode `path`; a missing or unreadable file is one {@link UsageError}. */
export async function readCheckpoint(path: string): Promise<TrainingCheckpoint> {
  return decodeCheckpoint(await readCheckpointBytes(path), path);
}

/** The bytes of the checkpoint file `path`; unreadable or too large: one {@link UsageError}. */
async function readCheckpointBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFileLimited(path, MAX_BYTES.checkpoint, "checkpoint");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: cannot read checkpoint (${(error as Error).message})`);
  }
}

/**
 * Scalar variables an optimizer keeps outside `getWeights()`. Adam's `accBeta1`/`accBeta2`
 * (β^t, built by repeated float32 multiplication) are the case in point: `setWeights`
 * recomputes them with `pow`, which can differ in the last bit, so a resumed run would drift.
 */
function optimizerInternals(optimizer: tf.Optimizer): [string, tf.Variable][] {
  return Object.entries(optimizer).filter((entry): entry is [string, tf.Variable] =>
    entry[1] instanceof tf.Variable
  ).sort(([a], [b]) => a.localeCompare(b));
}

function tensorBlob(name: string, tensor: tf.Tensor, data: BlobData): Blob {
  return { name, dtype: tensor.dtype === "int32" ? "int32" : "float32", shape: tensor.shape, data };
}

/**
 * Everything of `model` a checkpoint holds: its weights (`model/NAME`), each optimizer's
 * `getWeights()` in order (`optimizer/I/J`, index-ordered, so variable names do not matter)
 * and the optimizers' internal variables (`optimizer/I/#KEY`).
 */
export async function captureModel(
  model: Checkpointable,
): Promise<{ blobs: Blob[]; optimizers: CheckpointMeta["optimizers"] }> {
  const blobs: Blob[] = [];
  for (const [name, variable] of model.weights()) {
    blobs.push(tensorBlob(`model/${name}`, variable, await variable.data() as BlobData));
  }
  const optimizers: CheckpointMeta["optimizers"] = [];
  for (const [i, optimizer] of model.optimizers().entries()) {
    const weights = await optimizer.getWeights();
    for (const [j, { tensor }] of weights.entries()) {
      blobs.push(tensorBlob(`optimizer/${i}/${j}`, tensor, await tensor.data() as BlobData));
    }
    // getWeights() makes a fresh scalar for the iteration count; the rest are live variables.
    weights[0]?.tensor.dispose();
    const internals = optimizerInternals(optimizer);
    for (const [key, variable] of internals) {
      blobs.push(tensorBlob(`optimizer/${i}/#${key}`, variable, await variable.data() as BlobData));
    }
    optimizers.push({ weights: weights.length, internals: internals.map(([key]) => key) });
  }
  return { blobs, optimizers };
}

/**
 * Check that `checkpoint` fits `model` (same weight names and shapes, same optimizers) without
 * changing anything, so that a bad checkpoint is refused before any run starts.
 */
export function checkModelFits(
  checkpoint: TrainingCheckpoint,
  model: Checkpointable,
  source: string,
): void {
  const fail: Refusal = refusalFor(source);
  const weights = model.weights();
  for (const [name, variable] of weights) {
    const blob = checkpoint.blobs.get(`model/${name}`) ??
      fail(`checkpoint has no weight "${name}"`);
    if (blob.shape.join(",") !== variable.shape.join(",")) {
      fail(
        `weight "${name}" has shape [${blob.shape}] in the checkpoint, the model expects ` +
          `[${variable.shape}]`,
      );
    }
  }
  const stored = [...checkpoint.blobs.keys()].filter((name) => name.startsWith("model/"));
  if (stored.length !== weights.size) {
    const extra = stored.filter((name) => !weights.has(name.slice("model/".length)));
    fail(`checkpoint has weights the model lacks: ${extra.join(", ")}`);
  }
  const optimizers = model.optimizers();
  if (checkpoint.meta.optimizers.length !== optimizers.length) {
    fail(
      `checkpoint has ${checkpoint.meta.optimizers.length} optimizer(s), the model has ` +
        optimizers.length,
    );
  }
  for (const [i, layout] of checkpoint.meta.optimizers.entries()) {
    for (let j = 0; j < layout.weights; j++) {
      if (!checkpoint.blobs.has(`optimizer/${i}/${j}`)) {
        fail(`checkpoint lacks optimizer/${i}/${j}`);
      }
    }
    const expected = optimizerInternals(optimizers[i]).map(([key]) => key);
    if (expected.join(",") !== layout.internals.join(",")) {
      fail(`optimizer ${i} keeps [${expected}], the checkpoint has [${layout.internals}]`);
    }
    for (const key of layout.internals) {
      const blob = checkpoint.blobs.get(`optimizer/${i}/#${key}`);
      const variable = optimizerInternals(optimizers[i]).find(([k]) => k === key)![1];
      if (!blob || blob.shape.join(",") !== variable.shape.join(",")) {
        fail(`optimizer ${i}: "${key}" is missing or has the wrong shape`);
      }
    }
  }
}

function toTensor(blob: Blob): tf.Tensor {
  return tf.tensor(
    blob.data as Float32Array | Int32Array,
    blob.shape,
    blob.dtype === "int32" ? "int32" : "float32",
  );
}

/** Put the weights and optimizer state of `checkpoint` into `model` (checked first). */
export async function restoreModel(
  checkpoint: TrainingCheckpoint,
  model: Checkpointable,
  source: string,
): Promise<void> {
  checkModelFits(checkpoint, model, source);
  for (const [name, variable] of model.weights()) {
    const value = toTensor(checkpoint.blobs.get(`model/${name}`)!);
    variable.assign(value);
    value.dispose();
  }
  for (const [i, optimizer] of model.optimizers().entries()) {
    const layout = checkpoint.meta.optimizers[i];
    const values = Array.from({ length: layout.weights }, (_, j) => ({
      name: `optimizer/${i}/${j}`,
      tensor: toTensor(checkpoint.blobs.get(`optimizer/${i}/${j}`)!),
    }));
    // setWeights wraps each tensor in a new variable (which keeps its own reference).
    await optimizer.setWeights(values);
    tf.dispose(values.map((v) => v.tensor));
    for (const [key, variable] of optimizerInternals(optimizer)) {
      const value = toTensor(checkpoint.blobs.get(`optimizer/${i}/#${key}`)!);
      variable.assign(value);
      value.dispose();
    }
  }
}
