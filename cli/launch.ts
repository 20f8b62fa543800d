/**
 * The deno tasks' launcher: least privilege that follows the paths the user names. A task runs
 * this file with only the permission to start Deno (`--allow-run=deno`); it reads the command's
 * path flags (`--data-dir`, `--out`, `--results`, `--baseline`, the image sets of `score`, a
 * suite file), and runs `deno run <grant> mod.ts <command> <args>` where the grant is the
 * project folder (read), exactly those paths, and the fixed needs of the command (environment
 * variables, git, the canvas library); never the network. Everything else the command checks
 * itself. Signals are passed on, so Ctrl-C and Slurm's SIGINT/SIGTERM reach the run.
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of deno.json and mod.ts. */
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** What a command may touch. */
export interface Grant {
  read: string[];
  write: string[];
  env: string[];
  /** Further flags (`--allow-run=git`, `--allow-ffi=…`). */
  other: string[];
}

const DEBUG_ENV = ["GENBENCH_DEBUG"];
const SLURM_ENV = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_COUNT",
  "SLURM_ARRAY_TASK_MIN",
  "SLURM_ARRAY_TASK_MAX",
  "SLURM_ARRAY_TASK_STEP",
];
/** The PNG figures' native canvas (@napi-rs/canvas): its loader's variables, ldd, its binary. */
const CANVAS_ENV = [
  "NAPI_RS_NATIVE_LIBRARY_PATH",
  "NAPI_RS_FORCE_WASI",
  "DISABLE_SYSTEM_FONTS_LOAD",
];
const CANVAS_READ = ["/usr/bin/ldd"];
const CANVAS_OTHER = ["--allow-sys=homedir", `--allow-ffi=${join(ROOT, "node_modules", ".deno")}`];

/** The path flags of each command (parseArgs options; the other flags are the command's own). */
const PATH_FLAGS = {
  suite: { type: "string" },
  "data-dir": { type: "string" },
  out: { type: "string" },
  results: { type: "string" },
  baseline: { type: "string" },
  features: { type: "string" },
  reference: { type: "string" },
  "update-baseline": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The grant of `command` run with `args` (paths as given: Deno resolves them as the run does). */
export function grantFor(command: string, args: string[]): Grant {
  // Not strict: the command's own parser checks every flag; this one only reads the paths.
  const { values: v, positionals } = parseArgs({
    args,
    options: PATH_FLAGS,
    strict: false,
    allowPositionals: true,
  });
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : null;
  const paths = (...values: unknown[]) => values.map(text).filter((p): p is string => p !== null);
  const grant: Grant = { read: [ROOT], write: [], env: [...DEBUG_ENV], other: [] };
  const canvas = () => {
    grant.read.push(...CANVAS_READ);
    grant.env.push(...CANVAS_ENV);
    grant.other.push(...CANVAS_OTHER);
  };
  switch (command) {
    case "bench": {
      const out = text(v.out) ?? "results";
      // A suite given as a file (a name is looked up in the project).
      const suite = text(v.suite);
      grant.read.push(out, ...paths(v["data-dir"], suite?.endsWith(".json") ? suite : null));
      grant.write.push(out);
      grant.env.push(...SLURM_ENV);
      grant.other.push("--allow-run=git");
      canvas();
      break;
    }
    case "report": {
      const results = text(v.results) ?? "results";
      grant.read.push(results);
      grant.write.push(text(v.out) ?? join(results, "report"));
      canvas();
      break;
    }
    case "check": {
      const baseline = text(v.baseline);
      grant.read.push(text(v.results) ?? "results", ...paths(baseline));
      // The baseline is rewritten atomically: a temporary file beside it, then a rename.
      if (v["update-baseline"] === true && baseline) grant.write.push(dirname(baseline));
      break;
    }
    case "score": {
      const features = text(v.features);
      const named = features !== null && features !== "lenet" && features !== "pixels";
      grant.read.push(...paths(...positionals, named ? features : null));
      break;
    }
    case "bench:micro":
      grant.write.push(...paths(v.out));
      grant.read.push(...paths(v.reference));
      break;
    case "slurm": {
      const out = text(v.out) ?? "results";
      grant.read.push(out);
      grant.write.push(out);
      grant.other.push("--allow-run=sbatch");
      break;
    }
  }
  // What a command writes it also reads (an atomic write renames a file it made beside).
  grant.read.push(...grant.write);
  return grant;
}

/** A one-line complaint about a path that a permission flag cannot hold, or null. */
export function badPath(path: string): string | null {
  // Deno's permission lists are comma-separated, and there is no escape for a comma.
  if (path.includes(",")) return `"${path}" has a comma, which Deno's permission flags cannot hold`;
  return null;
}

/** The `deno run` flags of `grant`. */
export function grantFlags(grant: Grant): string[] {
  const list = (flag: string, items: string[]) =>
    items.length ? [`${flag}=${[...new Set(items)].join(",")}`] : [];
  return [
    "--no-prompt",
    "--deny-net",
    ...list("--allow-read", grant.read),
    ...list("--allow-write", grant.write),
    ...list("--allow-env", grant.env),
    ...grant.other,
  ];
}

/** Run `deno run <grant> mod.ts <command> <args>`; returns its exit status. */
export async function launch(argv: string[]): Promise<number> {
  const [command = "help", ...args] = argv;
  const grant = grantFor(command, args);
  for (const path of [...grant.read, ...grant.write]) {
    const problem = badPath(path);
    if (problem) {
      console.error(`genbench: ${problem}`);
      return 2;
    }
  }
  const child = new Deno.Command("deno", {
    args: ["run", ...grantFlags(grant), join(ROOT, "mod.ts"), command, ...args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    // Its own process group, so that a terminal's Ctrl-C reaches it once (passed on below), not
    // twice (a second Ctrl-C means "stop now, skip the checkpoint").
    detached: true,
  }).spawn();
  // Ctrl-C, Slurm's SIGINT before the time limit and SIGTERM all come to this process.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const forward = signals.map((signal) => {
    const handler = () => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  const status = await child.status;
  forward.forEach((remove) => remove());
  return status.code;
}

if (import.meta.main) Deno.exit(await launch(Deno.args));
