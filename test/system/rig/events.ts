// An append-only list of things that happened (QMP events, guest boots) that tests wait on.
// Waiting has a deadline only to end a hung test with a clear message: deadlines are generous
// and never encode how fast something should be (test/README.md, "no timed assertions").

import { CodedError } from '../../../common/errors.ts';

interface Waiter<T> {
  match: (item: T) => boolean;
  from: number;
  resolve: (item: T) => void;
}

export class EventLog<T> {
  readonly items: T[] = [];
  #waiters = new Set<Waiter<T>>();

  push(item: T): void {
    this.items.push(item);
    const index = this.items.length - 1;
    for (const w of this.#waiters) {
      if (index >= w.from && w.match(item)) {
        this.#waiters.delete(w);
        w.resolve(item);
      }
    }
  }

  /** The first item at index ≥ `from` matching `match`, waiting up to `timeoutMs` for it. */
  waitFor(match: (item: T) => boolean, what: string, timeoutMs: number, from = 0): Promise<T> {
    const found = this.items.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new CodedError('RIG_TIMEOUT', `gave up waiting ${Math.round(timeoutMs / 1000)} s for ${what}`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        match,
        from,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.add(waiter);
    });
  }
}
