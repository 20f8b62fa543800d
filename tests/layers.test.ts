/**
 * Import direction: core → datasets → models → metrics → benchmarks → reports → cli. A file may
 * import its own layer and the layers below it, never one above, and no two files may import
 * each other, directly or around a loop. Type-only and dynamic imports count: they tie the
 * layers together just the same.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The layers, bottom first. */
export const LAYERS = ["core", "datasets", "models", "metrics", "benchmarks", "reports", "cli"];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Upward imports that work in progress still has to remove, as "from → to" where `from` may be
 * a folder prefix. Delete an entry when its import goes (the test prints the entries that no
 * longer occur); add none.
 */
const ALLOWED_UPWARD: string[] = [];

/**
 * Import cycles that work in progress still has to break: the files sorted and joined by " ↔ ",
 * or a folder ("x/") for any loop wholly inside it.
 */
const ALLOWED_CYCLES: string[] = [];

/** Whether `loop` ("a ↔ b ↔ …") is on `allowed`. */
function cycleAllowed(loop: string, allowed = ALLOWED_CYCLES): boolean {
  const files = loop.split(" ↔ ");
  return allowed.some((entry) =>
    entry.endsWith("/") ? files.every((file) => file.startsWith(entry)) : entry === loop
  );
}

/** Whether `edge` ("from → to") is on `allowed` (whose `from` may be a prefix). */
function isAllowed(edge: string, allowed: string[]): boolean {
  const [from, to] = edge.split(" → ");
  return allowed.some((entry) => {
    const [prefix, target] = entry.split(" → ");
    return target === to && from.startsWith(prefix);
  });
}

/** The relative import specifiers of a TypeScript source (static, re-export, dynamic). */
export function importsOf(source: string): string[] {
  // Comments may quote import lines; drop them first (not inside strings, good enough here).
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) found.push(match[1]);
  }
  return found.filter((spec) => spec.startsWith("./") || spec.startsWith("../"));
}

function layerOf(path: string): number {
  return LAYERS.indexOf(path.split("/")[0]);
}

/** What is wrong with the import graph of `files` (path relative to the root → source). */
export function layerProblems(
  files: Map<string, string>,
  allowed: string[] = [],
): { upward: string[]; cycles: string[][] } {
  const graph = new Map<string, string[]>();
  const upward: string[] = [];
  for (const [path, source] of files) {
    const targets = importsOf(source)
      .map((spec) => normalize(join(dirname(path), spec)))
      .filter((target) => files.has(target));
    graph.set(path, targets);
    for (const target of targets) {
      const edge = `${path} → ${target}`;
      if (layerOf(target) > layerOf(path) && !isAllowed(edge, allowed)) upward.push(edge);
    }
  }
  return { upward, cycles: cyclesOf(graph) };
}

/** Every strongly connected component of more than one file (or a file importing itself). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so that a long chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [node, edge] = frame;
      if (edge === 0) {
        index.set(node, next);
        low.set(node, next++);
        stack.push(node);
        onStack.add(node);
      }
      const targets = graph.get(node) ?? [];
      if (edge < targets.length) {
        frame[1]++;
        const target = targets[edge];
        if (!index.has(target)) work.push([target, 0]);
        else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || targets.includes(node)) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}

/** Every .ts file of the layers, path relative to the root → source. */
async function projectFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        files.set(relative(ROOT, path), await Deno.readTextFile(path));
      }
    }
  }
  for (const layer of LAYERS) await walk(join(ROOT, layer));
  return files;
}

Deno.test("no import runs from a lower layer to a higher one, and no file imports form a cycle", async () => {
  const files = await projectFiles();
  assert.ok(files.size > 50, `only ${files.size} files found under ${LAYERS.join(", ")}`);
  const { upward, cycles } = layerProblems(files, ALLOWED_UPWARD);
  assert.deepEqual(
    upward,
    [],
    `upward imports (order ${LAYERS.join(" → ")}):\n${upward.join("\n")}`,
  );
  const loops = cycles.map((c) => c.join(" ↔ "));
  const unexpected = loops.filter((loop) => !cycleAllowed(loop));
  assert.deepEqual(unexpected, [], `import cycles:\n${unexpected.join("\n")}`);
  const all = layerProblems(files).upward;
  const stale = ALLOWED_UPWARD.filter((entry) => !all.some((edge) => isAllowed(edge, [entry])));
  stale.push(
    ...ALLOWED_CYCLES.filter((entry) => !loops.some((loop) => cycleAllowed(loop, [entry]))),
  );
  if (stale.length) console.log(`allow-list entries no longer needed: ${stale.join("; ")}`);
});

Deno.test("the checker finds a planted upward import and a planted cycle", () => {
  const files = new Map([
    ["core/a.ts", `import { x } from "../models/m.ts";\n`],
    ["models/m.ts", `import type { Y } from "./n.ts";\nexport const x = 1;\n`],
    ["models/n.ts", `export { x } from "./m.ts";\nexport type Y = number;\n`],
    ["cli/main.ts", `import "../core/a.ts";\nconst m = await import("../reports/r.ts");\n`],
    ["reports/r.ts", `// import { main } from "../cli/main.ts";\nexport const r = 1;\n`],
  ]);
  const { upward, cycles } = layerProblems(files);
  assert.deepEqual(upward, ["core/a.ts → models/m.ts"]);
  assert.deepEqual(cycles, [["models/m.ts", "models/n.ts"]]);
  // A dynamic import upward counts too; a commented-out one does not.
  files.set("reports/r.ts", `const c = await import("../cli/main.ts");\n`);
  const again = layerProblems(files);
  assert.deepEqual(again.upward, ["core/a.ts → models/m.ts", "reports/r.ts → cli/main.ts"]);
  assert.deepEqual(again.cycles.length, 2);
  // An allowed edge is not reported.
  assert.deepEqual(layerProblems(files, ["core/a.ts → models/m.ts"]).upward, [
    "reports/r.ts → cli/main.ts",
  ]);
});
