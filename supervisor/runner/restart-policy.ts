// When to restart an app that exited, and when its restarts amount to a crash loop (PM2-style).

export interface BackoffSettings {
  /** Delay before the first restart. */
  initialMs: number;
  /** Growth per consecutive restart (1.5 like PM2's exp_backoff_restart_delay). */
  factor: number;
  /** Largest delay. */
  maxMs: number;
  /** An app that ran this long before exiting starts again from `initialMs`. */
  stableMs: number;
}

export interface CrashLoopSettings {
  /** This many restarts ... */
  restarts: number;
  /** ... within this window is a crash loop. */
  windowMs: number;
}

export interface RestartDecision {
  delayMs: number;
  /** True exactly when this restart makes the app enter a crash loop. */
  enteredCrashLoop: boolean;
}

/** Restart bookkeeping for one app: backoff attempt, recent restart times, crash-loop flag. */
export class RestartPolicy {
  #backoff: BackoffSettings;
  #crashLoop: CrashLoopSettings;
  #attempt = 0;
  #recent: number[] = [];
  #inCrashLoop = false;

  constructor(backoff: BackoffSettings, crashLoop: CrashLoopSettings) {
    this.#backoff = backoff;
    this.#crashLoop = crashLoop;
  }

  get inCrashLoop(): boolean {
    return this.#inCrashLoop;
  }

  /** Decides the delay for the restart after an exit at monotonic `now` following `uptimeMs` of running. */
  next(now: number, uptimeMs: number): RestartDecision {
    if (uptimeMs >= this.#backoff.stableMs) this.reset();
    const { initialMs, factor, maxMs } = this.#backoff;
    const delayMs = Math.round(Math.min(maxMs, initialMs * Math.pow(factor, this.#attempt)));
    this.#attempt += 1;
    this.#recent = this.#recent.filter((at) => now - at < this.#crashLoop.windowMs);
    this.#recent.push(now);
    const enteredCrashLoop = !this.#inCrashLoop && this.#recent.length >= this.#crashLoop.restarts;
    if (enteredCrashLoop) this.#inCrashLoop = true;
    return { delayMs, enteredCrashLoop };
  }

  /** Forgets the history: a stable run or a fresh start. */
  reset(): void {
    this.#attempt = 0;
    this.#recent = [];
    this.#inCrashLoop = false;
  }
}
