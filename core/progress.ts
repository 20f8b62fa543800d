/** Progress of long work on stderr: model, step/total, loss, images/s, ETA. */

const encoder = new TextEncoder();

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** One progress line per label; redrawn in place on a terminal, printed every few seconds otherwise. */
export class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #tty = Deno.stderr.isTerminal();
  #lastPrint = 0;
  readonly #quiet: boolean;

  constructor(label: string, total: number, quiet = false) {
    this.#label = label;
    this.#total = total;
    this.#quiet = quiet;
  }

  /** Report that `done` of the total steps are finished; `losses` are the latest values. */
  update(done: number, losses: Record<string, number>, imagesPerSecond: number): void {
    if (this.#quiet) return;
    const now = performance.now();
    const finished = done >= this.#total;
    if (!finished && now - this.#lastPrint < (this.#tty ? 200 : 10_000)) return;
    this.#lastPrint = now;
    const elapsed = (now - this.#started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.#total - done) : NaN;
    const loss = Object.entries(losses).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join(" ");
    const line = `${this.#label} step ${done}/${this.#total} ${loss} ` +
      `${Math.round(imagesPerSecond)} img/s ETA ${formatDuration(eta)}`;
    this.#write(this.#tty ? `\r\x1b[2K${line}${finished ? "\n" : ""}` : `${line}\n`);
  }

  /** A one-off message on its own line. */
  note(message: string): void {
    if (this.#quiet) return;
    this.#write(`${message}\n`);
  }

  #write(text: string): void {
    Deno.stderr.writeSync(encoder.encode(text));
  }
}
