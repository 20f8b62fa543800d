import assert from "node:assert/strict";
import { UsageError } from "../../core/errors.ts";
import { parseBenchArgs } from "../../cli/bench.ts";
import { parseSlurmArgs } from "../../cli/slurm.ts";

Deno.test("--threads: bench and slurm take 1 to 8; anything else is one line naming the flag", () => {
  const bench = parseBenchArgs(["--threads", "3", "--models", "nade"]);
  assert.ok(bench !== "help" && bench.threads === 3);
  const slurm = parseSlurmArgs(["--threads", "4", "--models", "nade", "--dry-run"]);
  assert.ok(slurm !== "help" && slurm.benchArgs.join(" ").includes("--threads 4"));
  for (const bad of ["0", "9", "two", "1.5"]) {
    assert.throws(
      () => parseBenchArgs(["--threads", bad]),
      (e: unknown) =>
        e instanceof UsageError && e.message.startsWith("--threads:") && !e.message.includes("\n"),
    );
  }
});
