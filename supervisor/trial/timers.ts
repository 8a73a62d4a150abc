// The two clocks of a trial attempt: the start deadline (healthy within startTimeout, or it has
// failed) and the probation (healthy without a break for probationSeconds, then commit).
// Both run on the Clock port and are cancelled together whenever the trial or the app changes.

import type { Clock } from '../../common/clock.ts';

/** Owns at most one start deadline and one probation timer. */
export class TrialTimers {
  readonly #clock: Clock;
  #start: AbortController | null = null;
  #probation: AbortController | null = null;
  #armedSince: number | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `onExpired` after `ms` unless cleared first. */
  armStart(ms: number, onExpired: () => void): void {
    this.clearStart();
    this.#start = this.#after(ms, onExpired);
  }

  clearStart(): void {
    this.#start?.abort();
    this.#start = null;
  }

  /** Arms probation from the healthy verdict `since`; the same `since` again leaves the running timer alone. */
  armProbation(ms: number, since: number, onElapsed: (armedSince: number) => void): void {
    if (this.#armedSince === since && this.#probation) return;
    this.#probation?.abort();
    this.#armedSince = since;
    this.#probation = this.#after(ms, () => onElapsed(since));
  }

  clear(): void {
    this.clearStart();
    this.#probation?.abort();
    this.#probation = null;
    this.#armedSince = null;
  }

  #after(ms: number, fn: () => void): AbortController {
    const abort = new AbortController();
    this.#clock.sleep(ms, abort.signal).then(
      () => {
        if (!abort.signal.aborted) fn();
      },
      () => undefined, // cancelled
    );
    return abort;
  }
}
