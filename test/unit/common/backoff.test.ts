// Full-jitter backoff: bounded by the exponential ceiling and the cap, spread over [0, ceiling].

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, fullJitter } from '../../../common/backoff.ts';

const policy = { baseMs: 100, maxMs: 10_000 };

test('the ceiling doubles per attempt up to the cap', () => {
  assert.deepEqual([0, 1, 2, 3].map((a) => backoffCeiling(policy, a)), [100, 200, 400, 800]);
  assert.equal(backoffCeiling(policy, 20), 10_000);
  assert.equal(backoffCeiling({ ...policy, factor: 1.5 }, 2), 225);
});

test('full jitter spans zero to the ceiling', () => {
  assert.equal(fullJitter(policy, 3, () => 0), 0);
  assert.equal(fullJitter(policy, 3, () => 0.5), 400);
  assert.ok(fullJitter(policy, 3, () => 0.999999) < 800);
});

test('jittered delays of many clients spread out', () => {
  const delays = Array.from({ length: 1000 }, () => fullJitter(policy, 6));
  const buckets = new Set(delays.map((d) => Math.floor(d / 640)));
  assert.equal(buckets.size, 10, 'every tenth of [0, 6400) ms receives some clients');
  assert.ok(delays.every((d) => d >= 0 && d < 6400));
});
