import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAppend } from '../../../../agent/outbox/bounds.ts';
import type { OutboxConfig } from '../../../../agent/config.ts';

const C: OutboxConfig = { maxMessages: 3, maxBytes: 1000, maxAgeSeconds: 10, onFull: 'drop-oldest', maxInFlight: 100 };
const rows = [
  { seq: 1, bytes: 100, createdAt: 0 },
  { seq: 2, bytes: 100, createdAt: 50_000 },
  { seq: 3, bytes: 100, createdAt: 50_000 },
];

test('expired rows are dropped first', () => {
  assert.deepEqual(planAppend(C, { count: 3, bytes: 300 }, rows, 10, 55_000), { kind: 'accept', drop: [1], expired: 1, evicted: 0 });
});

test('drop-oldest evicts to make room; refuse-new refuses', () => {
  assert.deepEqual(planAppend(C, { count: 3, bytes: 300 }, rows.slice(1).concat([{ seq: 4, bytes: 100, createdAt: 50_000 }]), 10, 50_000), {
    kind: 'accept', drop: [2], expired: 0, evicted: 1,
  });
  assert.deepEqual(planAppend({ ...C, onFull: 'refuse-new' }, { count: 3, bytes: 300 }, rows.slice(1), 10, 50_000), { kind: 'refuse', reason: 'outbox-full' });
});

test('a message larger than the whole bound is refused', () => {
  assert.deepEqual(planAppend(C, { count: 0, bytes: 0 }, [], 5000, 0), { kind: 'refuse', reason: 'message-too-large' });
});
