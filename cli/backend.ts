/** The backend a command runs on, with the warning a user needs before a slow run. */
import { type BackendInfo, type BackendName, selectBackend } from "../core/backend.ts";

/** The warning for `info`, or null: a software WebGPU adapter is slower than the CPU backend. */
export function backendWarning(info: BackendInfo): string | null {
  if (info.name !== "webgpu" || !info.fallbackAdapter) return null;
  return `genbench: warning: --backend webgpu runs on a software adapter (${info.adapter}), ` +
    "which is slower than the CPU; use --backend cpu or wasm unless you are testing WebGPU";
}

/** Select `requested` (see core/backend.ts) and print its warning, if any, on stderr. */
export async function chooseBackend(requested: BackendName): Promise<BackendInfo> {
  const info = await selectBackend(requested);
  const warning = backendWarning(info);
  if (warning) console.error(warning);
  return info;
}
