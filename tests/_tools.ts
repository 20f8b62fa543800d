/**
 * The optional tools some tests need (Chromium, pdflatex, Slurm, a WebGPU adapter). Where one is
 * missing, its tests are ignored (Deno's `ignore`, never counted as passed) and one line says
 * what to install. Under CI=true nothing is ignored: a missing tool fails its tests (and .ci/run
 * checks the tools before the tests start).
 */
import { join } from "node:path";

/** Whether this is CI, where every test must run. */
export const CI = Deno.env.get("CI") === "true";

/** What each tool is for and how to get it, for the one line. */
const INSTALL = {
  chromium: "apt-get install chromium (or set GENBENCH_CHROMIUM to a Chromium binary)",
  pdflatex: "apt-get install texlive-latex-base texlive-latex-recommended",
  slurm: "apt-get install slurm-wlm munge (a single-node cluster is started as root)",
  webgpu: "apt-get install libvulkan1 mesa-vulkan-drivers (Mesa's software adapter)",
} as const;

export type Tool = keyof typeof INSTALL;

/** The first of `paths` that is a file, or null. */
async function firstFile(paths: (string | undefined)[]): Promise<string | null> {
  for (const path of paths) {
    if (!path) continue;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there
    }
  }
  return null;
}

/** `name` on PATH, or null. */
export function which(name: string): Promise<string | null> {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  return firstFile(dirs.map((dir) => join(dir, name)));
}

/** The Chromium binary (GENBENCH_CHROMIUM, else chromium or chromium-browser on PATH), or null. */
export async function chromiumPath(): Promise<string | null> {
  return await firstFile([Deno.env.get("GENBENCH_CHROMIUM")]) ?? await which("chromium") ??
    await which("chromium-browser");
}

async function webgpuAdapter(): Promise<boolean> {
  try {
    return !!(navigator.gpu && await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

/** Where to find `tool`: its path ("adapter" for WebGPU), or null when it is missing. */
export async function findTool(tool: Tool): Promise<string | null> {
  switch (tool) {
    case "chromium":
      return await chromiumPath();
    case "pdflatex":
      return await which("pdflatex");
    case "slurm":
      return (await which("sbatch")) && (await firstFile(["/usr/sbin/slurmctld"]));
    case "webgpu":
      return (await webgpuAdapter()) ? "adapter" : null;
  }
}

/** The tools whose line was printed (once per test run). */
const said = new Set<Tool>();

/** The line printed when a tool is missing. */
export function missingLine(tool: Tool, why = "not found"): string {
  const fate = CI ? "CI=true, so its tests fail" : "its tests are ignored";
  return `tests: ${tool} ${why}: ${fate}; to run them: ${INSTALL[tool]}`;
}

/**
 * `tool`'s path and whether the tests that need it are to be ignored (missing, outside CI).
 * Prints the one line when it is missing.
 */
export async function needTool(tool: Tool): Promise<{ path: string | null; ignore: boolean }> {
  const path = await findTool(tool);
  if (path === null && !said.has(tool)) {
    said.add(tool);
    console.error(missingLine(tool));
  }
  return { path, ignore: path === null && !CI };
}
