/**
 * The IDX file format of MNIST (LeCun et al.): a magic number (two zero bytes, a type code,
 * the number of dimensions), the dimensions as big-endian uint32, then the data. genbench
 * reads unsigned-byte IDX files, plain or gzipped, and rejects anything else in one line.
 */
import { gunzipSync } from "node:zlib";
import { UsageError } from "../core/errors.ts";

/** A parsed unsigned-byte IDX array. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Whether the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzip `bytes` if they are gzipped; `source` names the file in the error. */
export function maybeGunzip(bytes: Uint8Array, source: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch {
    throw new UsageError(`${source}: corrupt gzip data (expected a gzipped IDX file)`);
  }
}

/** Parse an unsigned-byte IDX file; `source` names the file in every error. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
    throw new UsageError(`${source}: truncated IDX file (${bytes.length} bytes, no header)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UsageError(
      `${source}: not an IDX file (magic number starts 0x${hex(bytes[0])}${
        hex(bytes[1])
      }, expected 0x0000)`,
    );
  }
  if (bytes[2] !== UBYTE) {
    throw new UsageError(
      `${source}: IDX type code 0x${hex(bytes[2])} is not supported (expected 0x08, unsigned byte)`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 4) {
    throw new UsageError(`${source}: IDX file with ${rank} dimensions (expected 1 to 4)`);
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new UsageError(
      `${source}: truncated IDX header (${bytes.length} of ${headerLength} bytes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerLength;
  if (found < expected) {
    throw new UsageError(
      `${source}: truncated IDX data (${found} of ${expected} bytes for dimensions ${
        dims.join("×")
      })`,
    );
  }
  if (found > expected) {
    throw new UsageError(
      `${source}: ${found - expected} bytes after the IDX data (dimensions ${dims.join("×")})`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Encode an unsigned-byte IDX file (for tests and tools). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = UBYTE;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((dim, i) => view.setUint32(4 + 4 * i, dim, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
