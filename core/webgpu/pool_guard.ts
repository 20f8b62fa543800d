/**
 * Keeps reserved GPU buffers out of tfjs-webgpu's buffer pool. A recorded step's buffers are
 * written by every replay, so tfjs must never hand one of them to a new tensor; tfjs releases
 * them to its pool like any other when their tensors are disposed. The pool's `acquireBuffer`
 * is wrapped (once per backend) to set reserved buffers aside before it picks a free one;
 * when no longer reserved they go back to the pool.
 */
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";

/** The parts of tfjs-webgpu's BufferManager used here (internal, stable across 4.x). */
interface BufferPool {
  acquireBuffer(size: number, usage: number, mapped?: boolean, reuse?: boolean): GPUBuffer;
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
}

/** Reservation counts of every buffer, over all guards. */
const reserved = new Map<GPUBuffer, number>();
/** Reserved buffers taken out of a pool's free lists, with their pool. */
const parked = new Map<GPUBuffer, BufferPool>();
const wrapped = new WeakSet<BufferPool>();

function wrap(pool: BufferPool): void {
  if (wrapped.has(pool)) return;
  wrapped.add(pool);
  const acquire = pool.acquireBuffer;
  pool.acquireBuffer = function (this: BufferPool, size, usage, mapped, reuse) {
    const free = this.freeBuffers.get(`${size}_${usage}`);
    if (free && reserved.size > 0) {
      for (let i = free.length - 1; i >= 0; i--) {
        if (!reserved.has(free[i])) continue;
        parked.set(free[i], this);
        free.splice(i, 1);
        this.numFreeBuffers--;
      }
    }
    return acquire.call(this, size, usage, mapped, reuse);
  };
}

function unpark(buffer: GPUBuffer): void {
  const pool = parked.get(buffer);
  if (!pool) return;
  parked.delete(buffer);
  const key = `${buffer.size}_${buffer.usage}`;
  if (!pool.freeBuffers.has(key)) pool.freeBuffers.set(key, []);
  pool.freeBuffers.get(key)!.push(buffer);
  pool.numFreeBuffers++;
}

export interface PoolGuard {
  reserve(buffers: Iterable<GPUBuffer>): void;
  release(buffers: Iterable<GPUBuffer>): void;
  /** Release everything this guard reserved. */
  releaseAll(): void;
  dispose(): void;
}

/** A guard over `backend`'s pool; its reservations add to those of other guards. */
export function guardPool(backend: WebGPUBackend): PoolGuard {
  wrap(backend.bufferManager as unknown as BufferPool);
  const mine = new Map<GPUBuffer, number>();
  const release = (buffers: Iterable<GPUBuffer>) => {
    for (const b of buffers) {
      const n = mine.get(b);
      if (!n) continue;
      if (n === 1) mine.delete(b);
      else mine.set(b, n - 1);
      const total = reserved.get(b)! - 1;
      if (total > 0) reserved.set(b, total);
      else {
        reserved.delete(b);
        unpark(b);
      }
    }
  };
  const releaseAll = () => {
    for (const [b, n] of [...mine]) for (let i = 0; i < n; i++) release([b]);
  };
  return {
    reserve(buffers) {
      for (const b of buffers) {
        mine.set(b, (mine.get(b) ?? 0) + 1);
        reserved.set(b, (reserved.get(b) ?? 0) + 1);
      }
    },
    release,
    releaseAll,
    dispose: releaseAll,
  };
}
