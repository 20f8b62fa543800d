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
