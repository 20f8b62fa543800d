/** Fabricated results folders for the report tests: real file layouts, values chosen by hand. */
import { join } from "node:path";
import { gridPng } from "../../benchmarks/views/grid.ts";
import type { MetricValue } from "../../metrics/metric.ts";
import { withTempDir } from "../_run.ts";

/** One fabricated run. */
export interface FakeRun {
  model: string;
  variant?: string | null;
  seed: number;
  suite?: string;
  dataset?: string;
  backend?: string;
  /** `interrupted` writes run.json only (the run never wrote its metrics). */
  status?: "finished" | "diverged" | "interrupted";
  metrics?: Record<string, MetricValue>;
  startedAt?: string;
  config?: Record<string, unknown>;
  curves?: Record<string, number | null>[];
  /** Write a sample grid PNG. */
  png?: boolean;
  /** Folder name; default `<model>-<dataset>-seed<seed>-<stamp>`. */
  id?: string;
  /** run.json's family (default "test"). */
  family?: string;
  /** Size of the test split in run.json (default 4). */
  testCount?: number;
}

/** A metric value as the runner writes it. */
export function mv(
  value: number,
  better: MetricValue["better"] = "lower",
  unit = "nats",
  extra: Partial<MetricValue> = {},
): MetricValue {
  return { value, unit, better, ...extra };
}

/** Write `runs` under `<dir>/runs/`. */
export async function writeResults(dir: string, runs: FakeRun[]): Promise<void> {
  for (const [i, run] of runs.entries()) {
    const suite = run.suite ?? "ci";
    const dataset = run.dataset ?? "synthetic";
    const backend = run.backend ?? "cpu";
    const status = run.status ?? "finished";
    const startedAt = run.startedAt ?? `2026-01-01T00:00:${String(i).padStart(2, "0")}.000Z`;
    const id = run.id ?? `${run.model}-${dataset}-seed${run.seed}-2026010${i % 10}T000000Z`;
    const runDir = join(dir, "runs", id);
    await Deno.mkdir(runDir, { recursive: true });
    const record = {
      run_id: id,
      status: status === "interrupted" ? "running" : status,
      suite,
      model: run.model,
      family: run.family ?? "test",
      variant: run.variant ?? null,
      seed: run.seed,
      config: run.config ?? { steps: 10, options: { batchSize: 8 } },
      provenance: {
        genbench_commit: "0123456789abcdef",
        genbench_dirty: false,
        deno: "2.9.6",
        v8: "x",
        typescript: "x",
        tfjs: "4.22.0",
        os: "linux",
        arch: "x86_64",
        backend,
        adapter: null,
        fallback_adapter: false,
        dataset: {
          name: dataset,
          source: "fabricated",
          sha256: "ab".repeat(32),
          split_seed: 1,
          binarization_seed: 1,
          train: 10,
          valid: 2,
          test: run.testCount ?? 4,
        },
      },
      started_at: startedAt,
      finished_at: status === "interrupted" ? null : startedAt,
      wall_seconds: status === "interrupted" ? null : 1.5,
    };
    await Deno.writeTextFile(join(runDir, "run.json"), JSON.stringify(record, null, 2));
    if (status !== "interrupted") {
      await Deno.writeTextFile(
        join(runDir, "metrics.json"),
        JSON.stringify({
          model: run.model,
          variant: run.variant ?? null,
          dataset,
          seed: run.seed,
          backend,
          suite,
          run_id: id,
          status,
          metrics: run.metrics ?? {},
        }),
      );
    }
    const curves = run.curves ??
      [1, 2, 3, 4].map((step) => ({ step, loss: 10 / step + run.seed }));
    await Deno.writeTextFile(
      join(runDir, "curves.jsonl"),
      curves.map((line) => JSON.stringify(line) + "\n").join(""),
    );
    if (run.png) {
      const images = new Float32Array(4 * 9).map((_, j) => (j % 3) / 2);
      await Deno.writeFile(
        join(runDir, "samples.png"),
        gridPng(images, { height: 3, width: 3, channels: 1 }, 2),
      );
    }
  }
}

/** A temporary folder, removed by the returned function. */
export async function tempDir(): Promise<[string, () => Promise<void>]> {
  const dir = await Deno.makeTempDir({ prefix: "genbench-report-test-" });
  return [dir, () => Deno.remove(dir, { recursive: true })];
}

/** A temporary folder given to `fn`, removed after it. */
export function withReportDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir(fn, "genbench-report-test-");
}

/** Run the CLI (`deno run -A mod.ts ...`) and return its exit code and output. */
export { cli } from "../_run.ts";
