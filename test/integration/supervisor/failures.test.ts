// Every kind of trial failure rolls back: the failed slot is marked failed with its code and
// the committed version answers again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, install, makeDevice, startSupervisor, subscribe, teardown, waitForVersion, type AppChoice } from './harness.ts';

const cases: Array<{ name: string; app: Omit<AppChoice, 'port' | 'version'>; codes: string[] }> = [
  { name: 'crash at start', app: { fixture: 'crash-at-start.mjs' }, codes: ['APP_EXITED', 'APP_CRASH_LOOP'] },
  { name: 'crash after a while', app: { fixture: 'crash-after.mjs', env: { CRASH_AFTER_MS: '300' }, health: { probationSeconds: 5 } }, codes: ['APP_EXITED'] },
  { name: 'never ready (start timeout)', app: { fixture: 'never-ready.mjs', health: { startTimeoutSeconds: 2 } }, codes: ['HEALTH_START_TIMEOUT'] },
  { name: 'healthy then unhealthy', app: { fixture: 'healthy-then-unhealthy.mjs', env: { UNHEALTHY_AFTER_MS: '300' }, health: { probationSeconds: 5 } }, codes: ['HEALTH_HTTP_FAILED'] },
  { name: 'slow start beyond the start timeout', app: { fixture: 'slow-start.mjs', env: { START_DELAY_MS: '5000' }, health: { startTimeoutSeconds: 1 } }, codes: ['HEALTH_START_TIMEOUT'] },
];

test('every failure kind rolls back to the committed version', { timeout: 300_000 }, async (t) => {
  const device = makeDevice();
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const port = await freePort();
  await client.request('activate', { slot: await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '1.0.0', port }), jobId: 'base' });
  await events.next('committed');

  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async () => {
      const version = `2.0.${i}`;
      const slot = await install(client, device.paths, { ...c.app, version, port });
      await client.request('activate', { slot, jobId: `job-${i}` });
      const rolled = await events.next('rolled-back');
      assert.ok(c.codes.includes(rolled.code), `${c.name}: got ${rolled.code} (${rolled.reason})`);
      assert.equal(rolled.version, version);
      assert.equal(rolled.committed, 'a');
      await waitForVersion(port, '1.0.0');
      const status = await client.request('status');
      assert.equal(status.committed, 'a');
      assert.equal(status.current, 'a');
      assert.equal(status.trial, null);
      const failed = status.slots[slot];
      assert.equal(failed.status, 'failed');
      assert.ok(failed.status === 'failed' && failed.code === rolled.code);
      assert.equal(status.lastOutcome?.kind, 'rolled-back');
      // Never retried automatically: activating the failed slot again is refused.
      await assert.rejects(client.request('activate', { slot, jobId: 'again' }), { code: 'SLOT_NOT_READY' });
    });
  }

  await t.test('a slot whose manifest is broken cannot become ready', async () => {
    const { slot } = await client.request('prepare-slot');
    const { fillSlot } = await import('./harness.ts');
    fillSlot(device.paths, slot, { fixture: 'healthy-http.mjs', version: '9.9.9', port, corrupt: true });
    await assert.rejects(client.request('slot-ready', { slot }), { code: 'SLOT_MANIFEST_INVALID' });
    await assert.rejects(client.request('activate', { slot, jobId: 'bad' }), { code: 'SLOT_NOT_READY' });
  });
});
