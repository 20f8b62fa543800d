/**
 * The random draws of a training step, logged so that a replay (stepper.ts) can make them
 * again: each outermost call of a `Stream` draw method, with its arguments, and the values it
 * returned laid out as 4-byte words — floats as float32, integers (an `int`, a permutation) as
 * int32 — in call order. A model that uploads a draw as it came (a float32 noise tensor, an
 * int32 tensor of drawn categories) uploads exactly these bytes, so the recording can find its
 * uploads in the log, and a replay writes the new step's words there.
 */
import type { Stream } from "../rng.ts";

/** The stream methods whose draws are logged, and the type of the words each returns. */
const DRAWS = {
  uniform: "float",
  normal: "float",
  uniformArray: "float",
  normalArray: "float",
  int: "int",
  permutation: "int",
} as const;
type DrawName = keyof typeof DRAWS;
const NAMES = Object.keys(DRAWS) as DrawName[];

export interface Draw {
  method: DrawName;
  args: number[];
  /** The 4-byte words it contributes to the log. */
  words: number;
}

/** The words of a log, as floats and as integers (one buffer). */
export class DrawWords {
  readonly floats: Float32Array;
  readonly ints: Int32Array;
  readonly bytes: Uint8Array;
  constructor(words: number) {
    this.floats = new Float32Array(words);
    this.ints = new Int32Array(this.floats.buffer);
    this.bytes = new Uint8Array(this.floats.buffer);
  }
}

type Methods = Record<string, (...args: number[]) => unknown>;

/** Store draw `d`'s returned value at word `at` of `out`. */
function put(d: Draw, value: unknown, out: DrawWords, at: number): void {
  const view = DRAWS[d.method] === "float" ? out.floats : out.ints;
  if (typeof value === "number") view[at] = value;
  else view.set(value as ArrayLike<number>, at);
}

/** Call `fn` with `stream`'s draws logged: the draws, their words, and each draw's first byte. */
export function logDraws<T>(
  stream: Stream,
  fn: () => T,
): { result: T; draws: Draw[]; words: DrawWords; starts: Set<number> } {
  const draws: Draw[] = [];
  const values: unknown[] = [];
  const target = stream as unknown as Methods;
  let depth = 0;
  for (const method of NAMES) {
    const original = target[method];
    target[method] = function (this: unknown, ...args: number[]) {
      depth++;
      try {
        const out = original.apply(stream, args);
        if (depth === 1) {
          const words = typeof out === "number" ? 1 : (out as ArrayLike<number>).length;
          draws.push({ method, args, words });
          values.push(out);
        }
        return out;
      } finally {
        depth--;
      }
    };
  }
  try {
    const result = fn();
    const words = new DrawWords(draws.reduce((n, d) => n + d.words, 0));
    const starts = new Set<number>();
    let at = 0;
    draws.forEach((d, i) => {
      starts.add(4 * at);
      put(d, values[i], words, at);
      at += d.words;
    });
    return { result, draws, words, starts };
  } finally {
    for (const method of NAMES) delete target[method];
  }
}

/** Make `draws` again on `stream`, their words into `out`. */
export function redraw(stream: Stream, draws: Draw[], out: DrawWords): void {
  const target = stream as unknown as Methods;
  let at = 0;
  for (const d of draws) {
    put(d, target[d.method](...d.args), out, at);
    at += d.words;
  }
}
