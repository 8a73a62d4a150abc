// Notify datagrams that are not heard (from outside the app, without credentials, too long) are
// logged at most once per interval with how many there were, so a flood of them never floods the
// log: the first at once, the rest of the interval in one line when it ends.

import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import type { Sender } from './notify-recv.ts';

export type RefusalReason = 'not the app' | 'no credentials' | 'too long' | 'malformed';

const INTERVAL_MS = 1000;

/** Counts refused datagrams and logs `notify-refused` lines, at most one per second, until `signal` aborts. */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #signal: AbortSignal;
  #count = 0;
  #last: { reason: RefusalReason; sender: Sender | null } | null = null;
  #loggedAt = -Infinity;
  #flushing = false;

  constructor(logger: Logger, clock: Clock, signal: AbortSignal) {
    this.#logger = logger;
    this.#clock = clock;
    this.#signal = signal;
  }

  /** One more datagram was dropped. */
  add(reason: RefusalReason, sender: Sender | null): void {
    this.#count += 1;
    this.#last = { reason, sender };
    const wait = this.#loggedAt + INTERVAL_MS - this.#clock.monotonic();
    if (wait <= 0) return this.#flush();
    if (this.#flushing) return;
    this.#flushing = true;
    this.#clock.sleep(wait, this.#signal).then(
      () => {
        this.#flushing = false;
        this.#flush();
      },
      () => undefined, // closed: what was counted since the last line is not worth a line
    );
  }

  #flush(): void {
    const last = this.#last;
    if (this.#count === 0 || last === null) return;
    const { sender } = last;
    this.#logger.warn(
      { event: 'notify-refused', count: this.#count, reason: last.reason, pid: sender?.pid ?? null, uid: sender?.uid ?? null, gid: sender?.gid ?? null },
      `ignored ${this.#count} notify datagram(s): ${last.reason}`,
    );
    this.#count = 0;
    this.#loggedAt = this.#clock.monotonic();
  }
}
