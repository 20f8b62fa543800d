/** Provenance: everything needed to trace a number back to the code, data and machine that made it. */
import * as tf from "@tensorflow/tfjs-core";
import { fileURLToPath } from "node:url";
import type { BackendInfo } from "./backend.ts";

/** What every run records about where it came from. */
export interface Provenance {
  genbench_commit: string;
  /** True when the working tree had uncommitted changes. */
  genbench_dirty: boolean | null;
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
  os: string;
  arch: string;
  backend: string;
  adapter: string | null;
  fallback_adapter: boolean;
  /** webgpu: whether training steps were replayed (core/webgpu/stepper.ts). */
  step_replay?: boolean;
  /** wasm: the threads it ran on (`--threads`; results are the same bits, timings are not). */
  threads?: number;
  dataset: {
    name: string;
    source: string;
    sha256: string;
    split_seed: number;
    binarization_seed: number;
    train: number;
    valid: number;
    test: number;
  };
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function git(args: string[]): Promise<string | null> {
  try {
    const { success, stdout } = await new Deno.Command("git", {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout).trim() : null;
  } catch {
    return null; // no git on this machine, or no permission to run it
  }
}

/** What provenance records of a dataset (a `Dataset` of datasets/dataset.ts has all of it). */
export interface DatasetIdentity {
  name: string;
  source: string;
  fingerprint: string;
  splitSeed: number;
  binarizationSeed: number;
  train: { count: number };
  valid: { count: number };
  test: { count: number };
}

/** Provenance of a run on `backend` over `dataset`. */
export async function provenance(
  backend: BackendInfo,
  dataset: DatasetIdentity,
): Promise<Provenance> {
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit === null ? null : await git(["status", "--porcelain"]);
  return {
    genbench_commit: commit ?? "unknown",
    genbench_dirty: status === null ? null : status.length > 0,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tf.version_core,
    os: Deno.build.os,
    arch: Deno.build.arch,
    backend: backend.name,
    adapter: backend.adapter,
    fallback_adapter: backend.fallbackAdapter,
    ...(backend.name === "webgpu" ? { step_replay: backend.replay !== false } : {}),
    ...(backend.name === "wasm" && backend.threads ? { threads: backend.threads } : {}),
    dataset: {
      name: dataset.name,
      source: dataset.source,
      sha256: dataset.fingerprint,
      split_seed: dataset.splitSeed,
      binarization_seed: dataset.binarizationSeed,
      train: dataset.train.count,
      valid: dataset.valid.count,
      test: dataset.test.count,
    },
  };
}
