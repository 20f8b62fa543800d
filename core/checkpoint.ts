/**
 * Model weights on disk: one file holding a JSON header (names, shapes, offsets) and the float32
 * data, written atomically. Loading checks every name and shape against the model.
 */
import * as tf from "@tensorflow/tfjs-core";
import { writeFileAtomic } from "./files.ts";
import { UsageError } from "./errors.ts";

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
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read checkpoint (${(error as Error).message})`);
  }
  const fail = (why: string): never => {
    throw new UsageError(`${path}: ${why}`);
  };
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
