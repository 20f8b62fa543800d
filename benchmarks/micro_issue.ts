/**
 * bench:micro on webgpu: the WebGPU calls of one training step (dispatches, passes, submits,
 * bind groups, uploads) and the host time to issue it, through tfjs and replayed
 * (core/webgpu/stepper.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { countGpuCalls, type GpuCallCounts, hostTime } from "../core/webgpu/tap.ts";
import type { StepResult } from "../core/webgpu/stepper.ts";

/** The WebGPU calls of one training step and the host time spent issuing them. */
export interface IssueProfile extends GpuCallCounts {
  /**
   * Median host milliseconds from the start of a step until all its work is submitted, less
   * the time inside `queue.submit` (on a software adapter submit runs the GPU work itself).
   */
  hostMs: number;
  /** Median milliseconds inside `queue.submit` per step. */
  submitMs: number;
}

/**
 * Count the WebGPU calls of one step, then time how long the host takes to issue a step (all
 * its work submitted, the GPU idle before it): the median of 7. `step` must submit its work.
 */
export async function issueProfile(step: () => StepResult): Promise<IssueProfile> {
  const backend = tf.backend() as WebGPUBackend;
  const idle = async (result: StepResult) => {
    await result.values();
    result.dispose();
    await backend.queue.onSubmittedWorkDone();
  };
  await idle(step());
  const { result, counts } = await countGpuCalls(step);
  await idle(result);
  const times: number[] = [], submits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const { result, ms, submitMs } = hostTime(step);
    times.push(ms);
    submits.push(submitMs);
    await idle(result);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[3];
  return { ...counts, hostMs: median(times), submitMs: median(submits) };
}

/** Rows of {@link formatIssueTable}: a model's step through tfjs and replayed. */
export interface IssueRow {
  name: string;
  issue?: IssueProfile;
  replayIssue?: IssueProfile;
  /** Why the model's step is not replayed. */
  replayNote?: string;
}

/** The per-step WebGPU profiles as a table, a line per model and mode. */
export function formatIssueTable(rows: IssueRow[]): string {
  const head = [
    "train step",
    "mode",
    "host ms",
    "in submit ms",
    "dispatches",
    "passes",
    "submits",
    "bind groups",
    "writeBuffer (KB)",
    "mapped uploads (KB)",
    "copies",
  ];
  const kb = (n: number) => (n / 1024).toFixed(1);
  const line = (name: string, mode: string, p: IssueProfile) => [
    name,
    mode,
    p.hostMs.toFixed(2),
    p.submitMs.toFixed(1),
    String(p.dispatches),
    String(p.passes),
    String(p.submits),
    String(p.bindGroups),
    `${p.writeBuffers} (${kb(p.writeBytes)})`,
    `${p.mappedUploads} (${kb(p.mappedBytes)})`,
    String(p.copies),
  ];
  const body: string[][] = [];
  const notes: string[] = [];
  for (const r of rows) {
    const name = r.name.replace(/^train step /, "");
    if (r.issue) body.push(line(name, "tfjs", r.issue));
    if (r.replayIssue) body.push(line(name, "replay", r.replayIssue));
    if (r.replayNote) notes.push(`${name}: ${r.replayNote}`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    fmt(head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(fmt),
    ...notes.map((n) => `not replayed: ${n}`),
  ].join("\n");
}
