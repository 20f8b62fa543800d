/**
 * A recorded training step (record.ts) made replayable: the same pipelines, bind groups and
 * dispatch sizes, re-encoded each step into one command buffer (one compute pass between
 * copies) and one submit. Only WebGPU objects are involved, none of tfjs.
 *
 * What the recording cannot simply repeat, and what is done instead:
 * - Host writes. Each is a constant (same bytes every step) or a per-step input (the batch,
 *   the labels, the step's noise: `sources`). A write into a buffer the step uses nowhere
 *   before it and nothing overwrites after it stays resident: a constant is never written
 *   again, an input is written there with `writeBuffer` before the step's submit. A write into
 *   a uniform buffer that is reused within the step (tfjs pools them) gets a uniform buffer of
 *   its own, bound in place of the shared one. Any other write goes to a pinned buffer of ours
 *   and is copied where and when the step wrote it. Staging uploads (a mapped buffer copied
 *   into place) become such writes of the bytes they carried.
 * - State carried between steps: `copyBack` pairs (where the step left a variable, where the
 *   next step reads it), copied at the end of every replay.
 */
import { pipelineWrites } from "./tap.ts";
import type { CopyOp, DispatchOp, Trace } from "./record.ts";

/** Where the bytes of a recorded host write come from on later steps. */
export type WriteSource =
  | { kind: "constant" }
  /** Bytes `offset`.. of per-step input `input` (its length: the recorded write's). */
  | { kind: "input"; input: number; offset: number };

/** What a step replay is built from. */
export interface ReplayPlan {
  trace: Trace;
  /** One per host write of the trace, in order. */
  sources: WriteSource[];
  /** [from, to]: whole-buffer copies at the end of each replay. */
  copyBack: [GPUBuffer, GPUBuffer][];
  /** Buffers whose first 4 bytes {@link StepReplay.read} returns (the losses). */
  readBack: GPUBuffer[];
}

/** Why a trace cannot be replayed. */
export class NotReplayable extends Error {}

interface InputWrite {
  buffer: GPUBuffer;
  offset: number;
  input: number;
  from: number;
  size: number;
}

type Command =
  | {
    kind: "dispatch";
    pipeline: GPUComputePipeline;
    groups: (GPUBindGroup | null)[];
    size: number[];
  }
  | CopyOp;

/** A host write after staging copies were folded in: bytes into `target` at queue position. */
interface Write {
  kind: "write";
  target: GPUBuffer;
  offset: number;
  bytes: Uint8Array;
  source: WriteSource;
}

type Op = Write | CopyOp | DispatchOp;

const MAPPED = GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE;

function bufferOf(resource: GPUBindingResource): GPUBuffer | null {
  if (resource instanceof GPUBuffer) return resource;
  const binding = resource as GPUBufferBinding;
  return binding.buffer instanceof GPUBuffer ? binding.buffer : null;
}

/** Fold staging uploads (mapped write, then a copy out of it) into writes at the copy. */
function foldStaging(plan: ReplayPlan): Op[] {
  const ops: Op[] = [];
  const staged = new Map<GPUBuffer, { offset: number; bytes: Uint8Array; source: WriteSource }>();
  let k = 0;
  for (const op of plan.trace.ops) {
    if (op.kind === "write") {
      const source = plan.sources[k++];
      if (op.mapped && (op.buffer.usage & GPUBufferUsage.MAP_WRITE)) {
        staged.set(op.buffer, { offset: op.offset, bytes: op.bytes, source });
      } else {
        ops.push({ kind: "write", target: op.buffer, offset: op.offset, bytes: op.bytes, source });
      }
    } else if (op.kind === "copy" && staged.has(op.src)) {
      const s = staged.get(op.src)!;
      const at = op.srcOffset - s.offset;
      if (at < 0 || at + op.size > s.bytes.length) {
        throw new NotReplayable("a copy out of a staging buffer beyond what was written to it");
      }
      const source: WriteSource = s.source.kind === "input"
        ? { kind: "input", input: s.source.input, offset: s.source.offset + at }
        : s.source;
      const bytes = s.bytes.subarray(at, at + op.size);
      ops.push({ kind: "write", target: op.dst, offset: op.dstOffset, bytes, source });
    } else ops.push(op);
  }
  return ops;
}

/** The buffers an op reads and writes. */
function accessOf(
  op: Op,
  bindGroups: Map<GPUBindGroup, GPUBindGroupDescriptor>,
): { reads: GPUBuffer[]; writes: GPUBuffer[] } {
  if (op.kind === "write") return { reads: [], writes: [op.target] };
  if (op.kind === "copy") return { reads: [op.src], writes: [op.dst] };
  const reads: GPUBuffer[] = [], writes: GPUBuffer[] = [];
  const writable = pipelineWrites(op.pipeline);
  op.groups.forEach((group, index) => {
    if (!group) return;
    const descriptor = bindGroups.get(group);
    if (!descriptor) throw new NotReplayable("a bind group made before the recording");
    for (const entry of descriptor.entries) {
      const buffer = bufferOf(entry.resource);
      if (!buffer) throw new NotReplayable("a binding that is not a buffer");
      reads.push(buffer);
      const storage = (buffer.usage & GPUBufferUsage.STORAGE) !== 0;
      const written = index === 0 && writable ? writable.has(entry.binding) : storage;
      if (written) writes.push(buffer);
    }
  });
  return { reads, writes };
}

/** A recorded step, ready to run again with new inputs. */
export class StepReplay {
  readonly #device: GPUDevice;
  readonly #commands: Command[] = [];
  readonly #inputWrites: InputWrite[] = [];
  readonly #own: GPUBuffer[] = [];
  readonly #readBack: GPUBuffer[];
  #readStaging: GPUBuffer | null = null;
  /** Every buffer a replay touches: to be kept out of anyone else's hands. */
  readonly buffers = new Set<GPUBuffer>();
  /** Per replay: dispatches, compute passes, copies and input writes. */
  readonly counts = { dispatches: 0, passes: 0, copies: 0, writes: 0 };

  constructor(device: GPUDevice, plan: ReplayPlan) {
    this.#device = device;
    this.#readBack = plan.readBack;
    const { bindGroups, unsupported } = plan.trace;
    if (unsupported.length) throw new NotReplayable(unsupported[0]);
    const ops = foldStaging(plan);
    const access = ops.map((op) => accessOf(op, bindGroups));
    const touches = (i: number, b: GPUBuffer) =>
      access[i].reads.includes(b) || access[i].writes.includes(b);
    // Per op: buffers bound in place of others (renamed uniform versions).
    const renamed = new Map<number, Map<GPUBuffer, GPUBuffer>>();
    const replaced = new Map<number, Command | null>();
    ops.forEach((op, p) => {
      if (op.kind !== "write") return;
      const { target, offset, bytes, source } = op;
      let earlier = false;
      for (let q = 0; q < p && !earlier; q++) earlier = touches(q, target);
      let next = -1;
      for (let q = p + 1; q < ops.length && next < 0; q++) {
        if (access[q].writes.includes(target)) next = q;
      }
      const whole = offset === 0 && bytes.length === target.size;
      const writable = (target.usage & GPUBufferUsage.COPY_DST) !== 0;
      if (!earlier && next < 0 && (source.kind === "constant" || writable)) {
        // Resident: nothing else uses the buffer before this write or changes it after.
        replaced.set(p, null);
        if (source.kind === "input") this.#addInput(target, offset, bytes.length, source);
        return;
      }
      if (!(target.usage & GPUBufferUsage.STORAGE) && whole) {
        // A uniform version of its own, bound by the dispatches that read this version.
        const own = this.#buffer(target.size, (target.usage & ~MAPPED) | GPUBufferUsage.COPY_DST);
        this.#fill(own, 0, bytes, source);
        for (let q = p + 1; q < (next < 0 ? ops.length : next); q++) {
          if (!access[q].reads.includes(target)) continue;
          if (ops[q].kind === "copy") throw new NotReplayable("a copy out of a uniform buffer");
          if (!renamed.has(q)) renamed.set(q, new Map());
          renamed.get(q)!.set(target, own);
        }
        replaced.set(p, null);
        return;
      }
      // Pinned bytes copied into place at this point of the step.
      const pinned = this.#buffer(bytes.length, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
      this.#fill(pinned, 0, bytes, source);
      replaced.set(p, {
        kind: "copy",
        src: pinned,
        srcOffset: 0,
        dst: target,
        dstOffset: offset,
        size: bytes.length,
      });
    });
    ops.forEach((op, p) => {
      if (replaced.has(p)) {
        const command = replaced.get(p);
        if (command) this.#commands.push(command);
        return;
      }
      if (op.kind === "copy") this.#commands.push(op);
      else if (op.kind === "dispatch") {
        const swap = renamed.get(p);
        const groups = swap
          ? op.groups.map((g) => (g ? this.#rebind(bindGroups.get(g)!, swap) : g))
          : op.groups;
        this.#commands.push({ kind: "dispatch", pipeline: op.pipeline, groups, size: op.size });
      }
    });
    // The recorded step left its state where the copies below leave it: where a replay reads
    // it comes first.
    if (plan.copyBack.length) {
      const encoder = device.createCommandEncoder();
      for (const [from, to] of plan.copyBack) {
        encoder.copyBufferToBuffer(from, 0, to, 0, Math.min(from.size, to.size));
      }
      device.queue.submit([encoder.finish()]);
    }
    for (const [from, to] of plan.copyBack) {
      this.#commands.push({
        kind: "copy",
        src: from,
        srcOffset: 0,
        dst: to,
        dstOffset: 0,
        size: Math.min(from.size, to.size),
      });
    }
    let inPass = false;
    for (const c of this.#commands) {
      if (c.kind === "dispatch") {
        this.counts.dispatches++;
        if (!inPass) this.counts.passes++;
        inPass = true;
        for (const g of c.groups) {
          for (const e of g ? bindGroupEntries.get(g) ?? bindGroups.get(g)?.entries ?? [] : []) {
            const b = bufferOf(e.resource);
            if (b) this.buffers.add(b);
          }
        }
      } else {
        this.counts.copies++;
        inPass = false;
        this.buffers.add(c.src).add(c.dst);
      }
    }
    for (const w of this.#inputWrites) this.buffers.add(w.buffer);
    for (const b of plan.readBack) this.buffers.add(b);
    this.counts.writes = this.#inputWrites.length;
  }

  #buffer(size: number, usage: number): GPUBuffer {
    const buffer = this.#device.createBuffer({ size: Math.ceil(size / 4) * 4, usage });
    this.#own.push(buffer);
    return buffer;
  }

  /** Constant bytes now; an input's on every replay. */
  #fill(buffer: GPUBuffer, offset: number, bytes: Uint8Array, source: WriteSource): void {
    if (source.kind === "input") this.#addInput(buffer, offset, bytes.length, source);
    else this.#device.queue.writeBuffer(buffer, offset, bytes as Uint8Array<ArrayBuffer>);
  }

  #addInput(
    buffer: GPUBuffer,
    offset: number,
    size: number,
    source: { input: number; offset: number },
  ): void {
    this.#inputWrites.push({ buffer, offset, input: source.input, from: source.offset, size });
  }

  #rebind(descriptor: GPUBindGroupDescriptor, swap: Map<GPUBuffer, GPUBuffer>): GPUBindGroup {
    const entries = [...descriptor.entries].map((e) => {
      const b = bufferOf(e.resource);
      if (!b || !swap.has(b)) return e;
      const binding = e.resource instanceof GPUBuffer ? {} : e.resource as GPUBufferBinding;
      return { binding: e.binding, resource: { ...binding, buffer: swap.get(b)! } };
    });
    const group = this.#device.createBindGroup({ layout: descriptor.layout, entries });
    bindGroupEntries.set(group, entries);
    return group;
  }

  /** Run the step: the inputs' bytes written, every command encoded, one submit. */
  run(inputs: Uint8Array[]): void {
    const queue = this.#device.queue;
    for (const w of this.#inputWrites) {
      const data = inputs[w.input];
      queue.writeBuffer(
        w.buffer,
        w.offset,
        data.buffer as ArrayBuffer,
        data.byteOffset + w.from,
        w.size,
      );
    }
    const encoder = this.#device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    let pipeline: GPUComputePipeline | null = null;
    for (const c of this.#commands) {
      if (c.kind === "dispatch") {
        if (!pass) {
          pass = encoder.beginComputePass();
          pipeline = null;
        }
        if (c.pipeline !== pipeline) pass.setPipeline(pipeline = c.pipeline);
        for (let i = 0; i < c.groups.length; i++) {
          if (c.groups[i]) pass.setBindGroup(i, c.groups[i]);
        }
        pass.dispatchWorkgroups(c.size[0], c.size[1], c.size[2]);
      } else {
        if (pass) pass.end();
        pass = null;
        encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
      }
    }
    if (pass) pass.end();
    queue.submit([encoder.finish()]);
  }

  /** The first float32 of each read-back buffer, after the work queued so far. */
  read(): Promise<Float32Array> {
    // One read at a time: they share the staging buffer.
    const done = this.#reading.then(() => this.#readNow());
    this.#reading = done.catch(() => {});
    return done;
  }

  #reading: Promise<unknown> = Promise.resolve();

  async #readNow(): Promise<Float32Array> {
    const n = this.#readBack.length;
    this.#readStaging ??= this.#device.createBuffer({
      size: Math.max(4, 4 * n),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const staging = this.#readStaging;
    const encoder = this.#device.createCommandEncoder();
    this.#readBack.forEach((b, i) => encoder.copyBufferToBuffer(b, 0, staging, 4 * i, 4));
    this.#device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const values = new Float32Array(staging.getMappedRange().slice(0, 4 * n));
    staging.unmap();
    return values;
  }

  /** Free the buffers of our own making. */
  dispose(): void {
    for (const b of this.#own) b.destroy();
    this.#readStaging?.destroy();
  }
}

/** Entries of the bind groups a replay made (the trace knows the recorded ones). */
const bindGroupEntries = new WeakMap<GPUBindGroup, Iterable<GPUBindGroupEntry>>();
