/**
 * Records the WebGPU work of a stretch of code in the order the GPU queue runs it: host writes
 * (`writeBuffer`, and buffers written through a mapping, which take effect when unmapped),
 * then, at each submit, the copies and dispatches of the submitted command buffers in encoding
 * order. What a replay needs (replay.ts) and nothing of tfjs: only the WebGPU calls (tap.ts).
 */
import { addTap } from "./tap.ts";

/** Bytes written from the host into `buffer` at `offset`. */
export interface HostWrite {
  kind: "write";
  buffer: GPUBuffer;
  offset: number;
  bytes: Uint8Array;
  /** Written through a mapping (a staging buffer, or one mapped at creation). */
  mapped: boolean;
}

export interface CopyOp {
  kind: "copy";
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

export interface DispatchOp {
  kind: "dispatch";
  pipeline: GPUComputePipeline;
  /** The bind groups set at the dispatch, by index. */
  groups: (GPUBindGroup | null)[];
  size: [number, number, number];
}

export type TraceOp = HostWrite | CopyOp | DispatchOp;

/** The queue-ordered work of one recorded stretch. */
export interface Trace {
  ops: TraceOp[];
  /** The descriptor of every bind group created while recording. */
  bindGroups: Map<GPUBindGroup, GPUBindGroupDescriptor>;
  /** Calls the recording does not model; a trace with any cannot be replayed. */
  unsupported: string[];
  /** Buffers mapped for reading while recording (read-backs to the host). */
  readBacks: number;
  submits: number;
}

interface PassState {
  encoder: GPUCommandEncoder;
  pipeline: GPUComputePipeline | null;
  groups: (GPUBindGroup | null)[];
}

/** Record the WebGPU work `fn` issues; all of it must be submitted before `fn` returns. */
export function recordTrace<T>(fn: () => T): { result: T; trace: Trace } {
  const trace: Trace = {
    ops: [],
    bindGroups: new Map(),
    unsupported: [],
    readBacks: 0,
    submits: 0,
  };
  const encoded = new Map<GPUCommandEncoder, TraceOp[]>();
  const finished = new Map<GPUCommandBuffer, TraceOp[]>();
  const passes = new Map<GPUComputePassEncoder, PassState>();
  const opsOf = (encoder: GPUCommandEncoder) => {
    let ops = encoded.get(encoder);
    if (!ops) encoded.set(encoder, ops = []);
    return ops;
  };
  const remove = addTap({
    createBindGroup: (descriptor, group) => trace.bindGroups.set(group, descriptor),
    beginComputePass: (encoder, pass) => passes.set(pass, { encoder, pipeline: null, groups: [] }),
    setPipeline: (pass, pipeline) => {
      const state = passes.get(pass);
      if (state) state.pipeline = pipeline;
    },
    setBindGroup: (pass, index, group) => {
      const state = passes.get(pass);
      if (state) state.groups[index] = group;
    },
    dispatch: (pass, x, y, z) => {
      const state = passes.get(pass);
      if (!state?.pipeline) {
        trace.unsupported.push("a dispatch in a pass begun before the recording");
        return;
      }
      opsOf(state.encoder).push({
        kind: "dispatch",
        pipeline: state.pipeline,
        groups: [...state.groups],
        size: [x, y, z],
      });
    },
    endPass: (pass) => passes.delete(pass),
    copy: (encoder, src, srcOffset, dst, dstOffset, size) =>
      opsOf(encoder).push({ kind: "copy", src, srcOffset, dst, dstOffset, size }),
    finish: (encoder, commands) => {
      finished.set(commands, encoded.get(encoder) ?? []);
      encoded.delete(encoder);
    },
    submit: (commands) => {
      trace.submits++;
      for (const c of commands) {
        const ops = finished.get(c);
        if (!ops) trace.unsupported.push("a command buffer encoded before the recording");
        else trace.ops.push(...ops);
        finished.delete(c);
      }
    },
    writeBuffer: (buffer, offset, bytes) =>
      trace.ops.push({ kind: "write", buffer, offset, bytes: bytes.slice(), mapped: false }),
    mappedWrite: (buffer, offset, bytes) =>
      trace.ops.push({ kind: "write", buffer, offset, bytes: bytes.slice(), mapped: true }),
    mapRead: () => trace.readBacks++,
    other: (what) => trace.unsupported.push(what),
  });
  try {
    const result = fn();
    if (encoded.size > 0 || finished.size > 0) {
      trace.unsupported.push("work encoded but not submitted by the end of the recording");
    }
    return { result, trace };
  } finally {
    remove();
  }
}
