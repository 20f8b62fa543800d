/**
 * A tap on the WebGPU calls a process makes (Deno's device, queue, encoders and buffers), for
 * counting them (bench:micro) and for recording a training step to replay it (replay.ts). The
 * methods of the WebGPU classes are wrapped while at least one listener is attached and put
 * back when the last one leaves, so an untapped process pays nothing. Separately, every
 * compute pipeline's writable bindings are noted from its WGSL as it is created
 * ({@link watchPipelines}), because a recording needs to know which buffers a dispatch writes.
 */

/** What a listener may hear; every callback is optional. */
export interface TapListener {
  createBindGroup?(descriptor: GPUBindGroupDescriptor, group: GPUBindGroup): void;
  beginComputePass?(encoder: GPUCommandEncoder, pass: GPUComputePassEncoder): void;
  setPipeline?(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline): void;
  setBindGroup?(pass: GPUComputePassEncoder, index: number, group: GPUBindGroup | null): void;
  dispatch?(pass: GPUComputePassEncoder, x: number, y: number, z: number): void;
  endPass?(pass: GPUComputePassEncoder): void;
  copy?(
    encoder: GPUCommandEncoder,
    src: GPUBuffer,
    srcOffset: number,
    dst: GPUBuffer,
    dstOffset: number,
    size: number,
  ): void;
  finish?(encoder: GPUCommandEncoder, commands: GPUCommandBuffer): void;
  submit?(commands: GPUCommandBuffer[]): void;
  /**
   * Milliseconds the `submit` just heard took. On a software adapter (lavapipe) submit runs
   * the work itself before it returns, so this is GPU time there, not host time.
   */
  submitted?(ms: number): void;
  /** `queue.writeBuffer`: `bytes` is a view of the caller's data, valid during the call. */
  writeBuffer?(buffer: GPUBuffer, offset: number, bytes: Uint8Array): void;
  /** A mapped range written on the host, just before `unmap` (the view dies with it). */
  mappedWrite?(buffer: GPUBuffer, offset: number, bytes: Uint8Array): void;
  /** `mapAsync` for reading: a read-back. */
  mapRead?(buffer: GPUBuffer): void;
  /** A call the recording does not model (textures, indirect dispatch, clearBuffer…). */
  other?(what: string): void;
}

const listeners = new Set<TapListener>();
const restore: (() => void)[] = [];

function emit<K extends keyof TapListener>(
  key: K,
  ...args: Parameters<NonNullable<TapListener[K]>>
): void {
  for (const l of listeners) {
    const f = l[key] as ((...a: unknown[]) => void) | undefined;
    if (f) f.apply(l, args);
  }
}

// deno-lint-ignore no-explicit-any
type Proto = any;

/** Replace `proto[name]` by `wrap(original)` until {@link unhook}. */
function hook(proto: Proto, name: string, wrap: (original: Proto) => Proto): void {
  const original = proto[name];
  if (typeof original !== "function") return;
  proto[name] = wrap(original);
  restore.push(() => proto[name] = original);
}

/** Buffers mapped for writing and the ranges handed out, until their unmap. */
const writeMapped = new WeakMap<GPUBuffer, { offset: number; range: ArrayBuffer }[] | true>();

function hookAll(): void {
  hook(
    GPUDevice.prototype,
    "createBindGroup",
    (f) =>
      function (this: GPUDevice, descriptor: GPUBindGroupDescriptor) {
        const group = f.call(this, descriptor);
        emit("createBindGroup", descriptor, group);
        return group;
      },
  );
  hook(
    GPUDevice.prototype,
    "createBuffer",
    (f) =>
      function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
        const buffer = f.call(this, descriptor);
        if (descriptor.mappedAtCreation) writeMapped.set(buffer, true);
        return buffer;
      },
  );
  hook(
    GPUCommandEncoder.prototype,
    "beginComputePass",
    (f) =>
      function (this: GPUCommandEncoder, descriptor?: GPUComputePassDescriptor) {
        const pass = f.call(this, descriptor);
        emit("beginComputePass", this, pass);
        return pass;
      },
  );
  hook(
    GPUCommandEncoder.prototype,
    "copyBufferToBuffer",
    (f) =>
      function (this: GPUCommandEncoder, ...a: [GPUBuffer, number, GPUBuffer, number, number]) {
        emit("copy", this, a[0], a[1], a[2], a[3], a[4]);
        return f.apply(this, a);
      },
  );
  hook(
    GPUCommandEncoder.prototype,
    "finish",
    (f) =>
      function (this: GPUCommandEncoder, descriptor?: GPUCommandBufferDescriptor) {
        const commands = f.call(this, descriptor);
        emit("finish", this, commands);
        return commands;
      },
  );
  for (
    const name of [
      "clearBuffer",
      "copyBufferToTexture",
      "copyTextureToBuffer",
      "copyTextureToTexture",
      "beginRenderPass",
      "resolveQuerySet",
    ]
  ) {
    hook(
      GPUCommandEncoder.prototype,
      name,
      (f) =>
        function (this: GPUCommandEncoder, ...a: unknown[]) {
          emit("other", `GPUCommandEncoder.${name}`);
          return f.apply(this, a);
        },
    );
  }
  const pass = GPUComputePassEncoder.prototype;
  hook(
    pass,
    "setPipeline",
    (f) =>
      function (this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
        emit("setPipeline", this, pipeline);
        return f.call(this, pipeline);
      },
  );
  hook(
    pass,
    "setBindGroup",
    (f) =>
      function (
        this: GPUComputePassEncoder,
        index: number,
        group: GPUBindGroup,
        ...rest: unknown[]
      ) {
        if (rest.length > 0 && (rest[0] as { length?: number } | undefined)?.length) {
          emit("other", "setBindGroup with dynamic offsets");
        }
        emit("setBindGroup", this, index, group);
        return f.call(this, index, group, ...rest);
      },
  );
  hook(
    pass,
    "dispatchWorkgroups",
    (f) =>
      function (this: GPUComputePassEncoder, x: number, y = 1, z = 1) {
        emit("dispatch", this, x, y, z);
        return f.call(this, x, y, z);
      },
  );
  hook(
    pass,
    "dispatchWorkgroupsIndirect",
    (f) =>
      function (this: GPUComputePassEncoder, ...a: unknown[]) {
        emit("other", "dispatchWorkgroupsIndirect");
        return f.apply(this, a);
      },
  );
  hook(pass, "end", (f) =>
    function (this: GPUComputePassEncoder) {
      emit("endPass", this);
      return f.call(this);
    });
  hook(
    GPUQueue.prototype,
    "submit",
    (f) =>
      function (this: GPUQueue, commands: GPUCommandBuffer[]) {
        emit("submit", [...commands]);
        const t0 = performance.now();
        const result = f.call(this, commands);
        emit("submitted", performance.now() - t0);
        return result;
      },
  );
  hook(GPUQueue.prototype, "writeBuffer", (f) =>
    function (
      this: GPUQueue,
      buffer: GPUBuffer,
      offset: number,
      data: BufferSource,
      dataOffset = 0,
      size?: number,
    ) {
      emit("writeBuffer", buffer, offset, bytesOf(data, dataOffset, size));
      return f.call(this, buffer, offset, data, dataOffset, size);
    });
  hook(GPUQueue.prototype, "writeTexture", (f) =>
    function (this: GPUQueue, ...a: unknown[]) {
      emit("other", "GPUQueue.writeTexture");
      return f.apply(this, a);
    });
  hook(
    GPUBuffer.prototype,
    "mapAsync",
    (f) =>
      function (this: GPUBuffer, mode: number, ...rest: unknown[]) {
        if (mode & GPUMapMode.WRITE) writeMapped.set(this, true);
        else emit("mapRead", this);
        return f.call(this, mode, ...rest);
      },
  );
  hook(
    GPUBuffer.prototype,
    "getMappedRange",
    (f) =>
      function (this: GPUBuffer, offset = 0, size?: number) {
        const range = f.call(this, offset, size);
        const ranges = writeMapped.get(this);
        if (ranges === true) writeMapped.set(this, [{ offset, range }]);
        else if (ranges) ranges.push({ offset, range });
        return range;
      },
  );
  hook(GPUBuffer.prototype, "unmap", (f) =>
    function (this: GPUBuffer) {
      const ranges = writeMapped.get(this);
      if (ranges) {
        writeMapped.delete(this);
        if (ranges !== true) {
          for (const r of ranges) emit("mappedWrite", this, r.offset, new Uint8Array(r.range));
        }
      }
      return f.call(this);
    });
}

/** The bytes of `data` (elements for a typed array, as `writeBuffer` counts them). */
function bytesOf(data: BufferSource, dataOffset: number, size?: number): Uint8Array {
  if (ArrayBuffer.isView(data)) {
    const per = "BYTES_PER_ELEMENT" in data ? (data as Uint8Array).BYTES_PER_ELEMENT : 1;
    const count = size ?? data.byteLength / per - dataOffset;
    return new Uint8Array(data.buffer, data.byteOffset + dataOffset * per, count * per);
  }
  return new Uint8Array(data as ArrayBuffer, dataOffset, size);
}

/** Listen to every WebGPU call until the returned function is called. */
export function addTap(listener: TapListener): () => void {
  if (listeners.size === 0) hookAll();
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      while (restore.length) restore.pop()!();
    }
  };
}

/** The writable (`read_write` storage) bindings of group 0 of each pipeline we saw created. */
const writableBindings = new WeakMap<GPUComputePipeline, Set<number>>();
const moduleCode = new WeakMap<GPUShaderModule, string>();
let watching = false;

/** The `@binding` numbers of group-0 `var<storage, read_write>` declarations in `code`. */
export function writableBindingsOf(code: string): Set<number> {
  const found = new Set<number>();
  const re =
    /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*storage\s*,\s*read_write\s*>/g;
  for (const m of code.matchAll(re)) found.add(Number(m[1]));
  return found;
}

/**
 * From now on note the writable bindings of every compute pipeline created (idempotent). Must
 * run before the pipelines a recording meets are compiled; unknown ones count as writing every
 * storage binding.
 */
export function watchPipelines(): void {
  if (watching) return;
  watching = true;
  const device = GPUDevice.prototype as Proto;
  const createModule = device.createShaderModule;
  device.createShaderModule = function (this: GPUDevice, d: GPUShaderModuleDescriptor) {
    const module = createModule.call(this, d);
    moduleCode.set(module, d.code);
    return module;
  };
  const note = (d: GPUComputePipelineDescriptor, pipeline: GPUComputePipeline) => {
    const code = moduleCode.get(d.compute.module);
    if (code !== undefined) writableBindings.set(pipeline, writableBindingsOf(code));
    return pipeline;
  };
  const create = device.createComputePipeline;
  device.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    return note(d, create.call(this, d));
  };
  const createAsync = device.createComputePipelineAsync;
  device.createComputePipelineAsync = async function (
    this: GPUDevice,
    d: GPUComputePipelineDescriptor,
  ) {
    return note(d, await createAsync.call(this, d));
  };
}

/** The pipeline's writable bindings, or null when its code was not seen. */
export function pipelineWrites(pipeline: GPUComputePipeline): Set<number> | null {
  return writableBindings.get(pipeline) ?? null;
}

/** Counts of the WebGPU calls of one stretch of work. */
export interface GpuCallCounts {
  dispatches: number;
  passes: number;
  submits: number;
  bindGroups: number;
  /** `writeBuffer` calls and their bytes (tfjs writes each dispatch's uniforms this way). */
  writeBuffers: number;
  writeBytes: number;
  /** Buffers written through a mapping (tfjs's staging uploads) and their bytes. */
  mappedUploads: number;
  mappedBytes: number;
  /** Buffer-to-buffer copies encoded. */
  copies: number;
  /** Buffers mapped for reading: read-backs. */
  readBacks: number;
}

/**
 * Run `fn` and say how long it took on the host, less the time spent inside `queue.submit`
 * (the GPU's own time on a software adapter), in milliseconds.
 */
export function hostTime<T>(fn: () => T): { result: T; ms: number; submitMs: number } {
  let submitMs = 0;
  const remove = addTap({ submitted: (ms) => submitMs += ms });
  try {
    const t0 = performance.now();
    const result = fn();
    const ms = performance.now() - t0;
    return { result, ms: ms - submitMs, submitMs };
  } finally {
    remove();
  }
}

/** Count the WebGPU calls `fn` makes (awaited). */
export async function countGpuCalls<T>(
  fn: () => T | Promise<T>,
): Promise<{ result: T; counts: GpuCallCounts }> {
  const counts: GpuCallCounts = {
    dispatches: 0,
    passes: 0,
    submits: 0,
    bindGroups: 0,
    writeBuffers: 0,
    writeBytes: 0,
    mappedUploads: 0,
    mappedBytes: 0,
    copies: 0,
    readBacks: 0,
  };
  const remove = addTap({
    dispatch: () => counts.dispatches++,
    beginComputePass: () => counts.passes++,
    submit: () => counts.submits++,
    createBindGroup: () => counts.bindGroups++,
    writeBuffer: (_b, _o, bytes) => {
      counts.writeBuffers++;
      counts.writeBytes += bytes.byteLength;
    },
    mappedWrite: (_b, _o, bytes) => {
      counts.mappedUploads++;
      counts.mappedBytes += bytes.byteLength;
    },
    copy: () => counts.copies++,
    mapRead: () => counts.readBacks++,
  });
  try {
    return { result: await fn(), counts };
  } finally {
    remove();
  }
}
