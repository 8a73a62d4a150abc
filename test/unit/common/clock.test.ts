// The system clock's sleep honours AbortSignal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../common/clock.ts';

test('sleep resolves', async () => {
  await systemClock.sleep(1);
  assert.ok(systemClock.monotonic() > 0);
});

test('sleep rejects with the abort reason, also when already aborted', async () => {
  const controller = new AbortController();
  const pending = systemClock.sleep(60_000, controller.signal);
  controller.abort(new Error('job canceled'));
  await assert.rejects(pending, /job canceled/);
  await assert.rejects(systemClock.sleep(1, controller.signal), /job canceled/);
});
