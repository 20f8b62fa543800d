/**
 * Two recorded training steps compared (stepper.ts): whether they did the same work, and where
 * the bytes of each host upload come from on every step — the batch, the labels, a run of whole
 * draws of the step's random stream (draws.ts), or a constant.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Draw } from "./draws.ts";
import type { Trace, TraceOp } from "./record.ts";
import { NotReplayable, type WriteSource } from "./replay.ts";

/** Per-step input 2 of a replay: the words of the step's draws. */
export const DRAWN = 2;

/** One recorded step. */
export interface Recording {
  trace: Trace;
  /** The batch, the labels (or null) and the draws' words. */
  inputs: (Uint8Array | null)[];
  draws: Draw[];
  /** The byte offset of each draw in `inputs[DRAWN]`. */
  drawStarts: Set<number>;
  losses: [string, GPUBuffer][];
  variables: tf.Variable[];
  start: (GPUBuffer | null)[];
  end: (GPUBuffer | null)[];
  iterations: number[];
}

export function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Per host write of `b` (matched against `a`): where its bytes come from each step. */
export function classify(a: Recording, b: Recording): WriteSource[] {
  const wa = a.trace.ops.filter((op) => op.kind === "write");
  const wb = b.trace.ops.filter((op) => op.kind === "write");
  return wb.map((w, k) => {
    const bytesA = wa[k].bytes, bytesB = w.bytes;
    // The batch and the labels: whole.
    for (const input of [0, 1]) {
      const ia = a.inputs[input], ib = b.inputs[input];
      if (ia && ib && sameBytes(ia, bytesA) && sameBytes(ib, bytesB)) {
        return { kind: "input", input, offset: 0 };
      }
    }
    // The same bytes in both steps: a constant, even where they equal a run of draws that
    // came out the same twice (a drawn shift of 1 and an int32 scalar 1, say). A draw upload
    // is one value per row in every model: all of it repeats with chance k^−rows (k outcomes).
    if (sameBytes(bytesA, bytesB)) return { kind: "constant" };
    // Draws: a run of whole draws, at the same place in both steps.
    const na = a.inputs[DRAWN]!, nb = b.inputs[DRAWN]!;
    for (const start of b.drawStarts) {
      const end = start + bytesB.length;
      if (end > nb.length || !b.drawStarts.has(end) && end !== nb.length) continue;
      if (
        sameBytes(nb.subarray(start, end), bytesB) && sameBytes(na.subarray(start, end), bytesA)
      ) return { kind: "input", input: DRAWN, offset: start };
    }
    throw new NotReplayable(
      `an upload of ${bytesB.length} bytes changes from step to step and is neither the ` +
        "batch, the labels nor a run of draws",
    );
  });
}

/**
 * The same work in both recordings, buffers aside: the same host writes in the same order,
 * and the same dispatches and copies. A copy out of a staging buffer is part of its write
 * (tfjs uploads through one or straight into a fresh buffer, as its pool allows).
 */
export function sameWork(a: Trace, b: Trace): boolean {
  const staging = (op: TraceOp) =>
    op.kind === "copy" && (op.src.usage & GPUBufferUsage.MAP_WRITE) !== 0;
  const writes = (t: Trace) => t.ops.flatMap((op) => op.kind === "write" ? [op.bytes.length] : []);
  const work = (t: Trace) => t.ops.filter((op) => op.kind !== "write" && !staging(op));
  const wa = work(a), wb = work(b);
  if (writes(a).join() !== writes(b).join() || wa.length !== wb.length) return false;
  return wa.every((x, i) => {
    const y = wb[i];
    if (x.kind === "copy" && y.kind === "copy") return x.size === y.size;
    if (x.kind === "dispatch" && y.kind === "dispatch") {
      return x.pipeline === y.pipeline && x.size.join() === y.size.join();
    }
    return false;
  });
}
