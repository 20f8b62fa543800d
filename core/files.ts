/** File writes that never leave a half-written file behind: write a temp file, then rename. */
import { dirname, join } from "node:path";
import { UsageError } from "./errors.ts";

/** Write `data` to `path` atomically (same-folder temp file + rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data);
    else await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** `value` as pretty JSON with a final newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Make sure `dir` exists and can be written, or fail with one line naming `flag`. */
export async function ensureWritableDir(dir: string, flag: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.genbench-write-test-${crypto.randomUUID()}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    throw new UsageError(`${flag} ${dir}: cannot write there (${(error as Error).message})`);
  }
}

/** Fail with one line naming `flag` unless `dir` exists and is a folder. */
export async function requireDirectory(dir: string, flag: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    throw new UsageError(`${flag} ${dir}: cannot read (${(error as Error).message})`);
  }
  if (!info.isDirectory) throw new UsageError(`${flag} ${dir}: not a directory`);
}

/** The parts laid end to end in one new array of the same kind. */
export function concatArrays<T extends Uint8Array | Float32Array>(
  parts: T[],
  make: new (length: number) => T,
): T {
  const out = new make(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Size limits of the files genbench reads back (see README, Permissions and limits). */
export const MAX_BYTES = {
  /** `checkpoint.bin`/`weights.bin`: 512 MiB holds 32M parameters with Adam's two moments. */
  checkpoint: 512 * 2 ** 20,
  /** A baseline: a few KB per run; 16 MiB is thousands of runs. */
  baseline: 16 * 2 ** 20,
  /** `run.json`/`metrics.json`: a few KB each. */
  runJson: 16 * 2 ** 20,
  /** `curves.jsonl`: ~200 bytes a logged step, so 256 MiB is over a million steps. */
  curves: 256 * 2 ** 20,
  /** A feature extractor's JSON weights (the committed LeNet is 0.3 MB). */
  extractor: 256 * 2 ** 20,
} as const;

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${bytes} bytes`;
}

/**
 * Read `path` whole, refusing (one {@link UsageError} line naming `what`) a file larger than
 * `maxBytes` before reading it, so that a huge or sparse file never fills memory. The stat is
 * not trusted alone: reading stops as soon as more than `maxBytes` arrived (a growing file, a
 * device). Other errors (not found, permission) are thrown as they are, for the caller to word.
 */
export async function readFileLimited(
  path: string,
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  const tooBig = (size: string) =>
    new UsageError(
      `${what} ${path}: ${size} is over the ${formatBytes(maxBytes)} limit, refusing to read it`,
    );
  using file = await Deno.open(path, { read: true });
  const { size } = await file.stat();
  if (size > maxBytes) throw tooBig(formatBytes(size));
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(Math.min(Math.max(size, 1) + 1, 1 << 20));
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    total += n;
    if (total > maxBytes) throw tooBig(`more than ${formatBytes(maxBytes)}`);
    chunks.push(buffer.slice(0, n));
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** {@link readFileLimited} decoded as UTF-8 text. */
export async function readTextFileLimited(
  path: string,
  maxBytes: number,
  what: string,
): Promise<string> {
  return new TextDecoder().decode(await readFileLimited(path, maxBytes, what));
}
