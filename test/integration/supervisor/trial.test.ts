// A good trial commits; the new version answers and the status says so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, install, makeDevice, startSupervisor, subscribe, teardown, waitForVersion } from './harness.ts';

test('first install and an update both commit after probation', { timeout: 120_000 }, async (t) => {
  const device = makeDevice();
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const port = await freePort();

  const a = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '1.0.0', port });
  assert.equal(a, 'a');
  const started = await client.request('activate', { slot: a, jobId: 'job-1' });
  assert.equal(started.attemptsLeft, 2);
  assert.equal((await events.next('committed')).version, '1.0.0');
  await waitForVersion(port, '1.0.0');

  const b = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port });
  assert.equal(b, 'b');
  await client.request('activate', { slot: b, jobId: 'job-2' });
  const trial = await events.next('trial-started');
  assert.equal(trial.version, '2.0.0');
  assert.equal((await events.next('committed')).jobId, 'job-2');
  await waitForVersion(port, '2.0.0');

  const status = await client.request('status');
  assert.equal(status.committed, 'b');
  assert.equal(status.previous, 'a');
  assert.equal(status.current, 'b');
  assert.equal(status.trial, null);
  assert.equal(status.lastOutcome?.kind, 'committed');
  assert.equal(status.app?.version, '2.0.0');
  assert.ok(status.app?.pid);
  assert.equal(status.watchdog?.state, 'active');
  assert.equal(status.counters?.trials, 2);
  assert.equal(status.counters?.commits, 2);
});
