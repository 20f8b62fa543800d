/**
 * Seeded random streams. One master seed per run; every consumer (data order, init,
 * training noise, evaluation noise) derives its own named stream from it, so that changing
 * how evaluation draws numbers never changes training. tfjs random ops are never used: every
 * random tensor is filled here on the host from one of these streams.
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

/** Serializable state of a {@link Stream}, for checkpoints. */
export interface StreamState {
  generator: number[];
  spareNormal: number | null;
}

/** The largest seed genbench accepts (seeds are unsigned 32-bit integers). */
export const MAX_SEED = 0xffffffff;

/** FNV-1a over the UTF-8 bytes of `text`, then a murmur3 finalizer: a 32-bit hash. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h = Math.imul(h ^ byte, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A seeded stream of random numbers (xoroshiro128+ from the `pure-rand` package). */
export class Stream {
  #gen: RandomGenerator & { getState(): readonly number[] };
  #spareNormal: number | null = null;

  private constructor(gen: RandomGenerator & { getState(): readonly number[] }) {
    this.#gen = gen;
  }

  /** The stream called `name` of the run whose master seed is `seed`. */
  static derive(seed: number, name: string): Stream {
    return new Stream(xoroshiro128plus(hash32(`genbench/${seed >>> 0}/${name}`)));
  }

  /** A stream restored from {@link Stream.state}. */
  static fromState(state: StreamState): Stream {
    const stream = new Stream(xoroshiro128plusFromState(state.generator));
    stream.#spareNormal = state.spareNormal;
    return stream;
  }

  /** A child stream, independent of this one, named relative to it. */
  child(name: string): Stream {
    const [a, b] = this.#gen.getState();
    return new Stream(xoroshiro128plus(hash32(`${a}/${b}/${name}`)));
  }

  state(): StreamState {
    return { generator: [...this.#gen.getState()], spareNormal: this.#spareNormal };
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    return uniformFloat64(this.#gen);
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const value = this.#spareNormal;
      this.#spareNormal = null;
      return value;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.uniform();
    this.#spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** n draws uniform on [low, high), each `low + (high − low)·u` in float64, then float32. */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    const width = high - low;
    for (let i = 0; i < n; i++) out[i] = low + width * this.uniform();
    return out;
  }

  normalArray(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
