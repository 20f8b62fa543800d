/**
 * Stopping a suite on Ctrl-C (SIGINT) or SIGTERM (what `kill`, Slurm's time limit and container
 * runtimes send): both mean "stop at the next step boundary, checkpoint, record the run as
 * interrupted". The exit status follows the shell's 128 + signal number convention: 130 for
 * SIGINT, 143 for SIGTERM.
 */

/** The signals a suite stops on, with the exit status each one ends the process with. */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Thrown when a run stopped on a signal after saving its checkpoint; the CLI exits `code`. */
export class RunInterrupted extends Error {
  /** 130 after Ctrl-C, 143 after SIGTERM. */
  readonly code: number;
  constructor(message: string, code: number = STOP_SIGNALS.SIGINT) {
    super(message);
    this.name = "RunInterrupted";
    this.code = code;
  }
}

const describe = (signal: StopSignal) => signal === "SIGINT" ? "Ctrl-C" : "SIGTERM";

/**
 * The first signal asks the current run to stop at the next step boundary (it then writes a
 * checkpoint and an `interrupted` record); a run that is already evaluating finishes, and the
 * suite stops before the next run. A second signal exits at once (130 or 143), after the current
 * run has marked itself interrupted and removed the temp files of writes it cut short.
 */
export class StopRequest {
  /** The first signal received, or null. */
  signal: StopSignal | null = null;
  /** Set by the current run: records it as interrupted, synchronously, before an exit. */
  onExit: (() => void) | null = null;
  readonly #listeners = new Map<StopSignal, () => void>();

  get requested(): boolean {
    return this.signal !== null;
  }

  /** The exit status the process ends with: that of the first signal. */
  get code(): number {
    return STOP_SIGNALS[this.signal ?? "SIGINT"];
  }

  /** Listen for SIGINT and SIGTERM until {@link StopRequest.close}. */
  listen(): this {
    for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
      const listener = () => this.request(signal);
      this.#listeners.set(signal, listener);
      Deno.addSignalListener(signal, listener);
    }
    return this;
  }

  close(): void {
    for (const [signal, listener] of this.#listeners) {
      Deno.removeSignalListener(signal, listener);
    }
    this.#listeners.clear();
  }

  /** What a signal does. */
  request(signal: StopSignal = "SIGINT"): void {
    if (this.signal !== null) {
      console.error(`genbench: second ${describe(signal)}: exiting now`);
      this.onExit?.();
      Deno.exit(STOP_SIGNALS[signal]);
    }
    this.signal = signal;
    console.error(
      `genbench: ${describe(signal)}: stopping at the next step and saving a checkpoint ` +
        `(${describe(signal)} again exits at once)`,
    );
  }
}
