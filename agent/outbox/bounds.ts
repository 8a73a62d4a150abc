// The outbox's size and age bound, decided in pure code: which rows an append drops, or
// whether it is refused. Expired rows (older than maxAgeSeconds) always go first.

import type { OutboxConfig } from '../config.ts';

export interface Held {
  count: number;
  bytes: number;
}

export interface OldRow {
  seq: number;
  bytes: number;
  createdAt: number;
}

export type AppendPlan =
  | { kind: 'accept'; drop: number[]; expired: number; evicted: number }
  | { kind: 'refuse'; reason: 'message-too-large' | 'outbox-full' };

/** How many of the oldest rows one append looks at. */
export const OLDEST_SCAN = 64;

/** Decide an append of `bytes` given what is held and the oldest rows (oldest first). */
export function planAppend(config: OutboxConfig, held: Held, oldest: readonly OldRow[], bytes: number, now: number): AppendPlan {
  if (bytes > config.maxBytes) return { kind: 'refuse', reason: 'message-too-large' };
  const cutoff = now - config.maxAgeSeconds * 1000;
  const drop: number[] = [];
  let count = held.count;
  let size = held.bytes;
  let expired = 0;
  for (const row of oldest) {
    if (row.createdAt >= cutoff) break;
    drop.push(row.seq);
    count -= 1;
    size -= row.bytes;
    expired += 1;
  }
  const fits = (): boolean => count + 1 <= config.maxMessages && size + bytes <= config.maxBytes;
  if (fits()) return { kind: 'accept', drop, expired, evicted: 0 };
  if (config.onFull === 'refuse-new') return { kind: 'refuse', reason: 'outbox-full' };
  let evicted = 0;
  for (const row of oldest.slice(expired)) {
    if (fits()) break;
    drop.push(row.seq);
    count -= 1;
    size -= row.bytes;
    evicted += 1;
  }
  // Still over (the scan window was too small for a huge message): refuse rather than guess.
  return fits() ? { kind: 'accept', drop, expired, evicted } : { kind: 'refuse', reason: 'outbox-full' };
}
