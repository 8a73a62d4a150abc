// The supervisor SIGKILLed in each persisted trial phase, then started again: the restart
// table's action, with attempts counted and boot ids compared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort, httpGet, install, killRecordedApp, killSupervisor, makeDevice, startSupervisor, subscribe, teardown, waitForVersion,
  type Device, type RunningSupervisor,
} from './harness.ts';
import { SlotStore } from '../../../slots/store.ts';
import { beginRollback } from '../../../slots/transitions.ts';
import { silentLogger } from '../../../common/log.ts';

function setConfig(device: Device, edit: (c: { supervisor: Record<string, unknown>; health: Record<string, unknown> }) => void): void {
  const config = JSON.parse(readFileSync(device.configPath, 'utf8')) as { supervisor: Record<string, unknown>; health: Record<string, unknown> };
  edit(config);
  writeFileSync(device.configPath, JSON.stringify(config));
}

// A device with 1.0.0 committed in slot a and 2.0.0 ready in slot b; probation long enough that
// only the test ends the trial.
async function deviceWithTrialReady(t: { after(fn: () => Promise<void>): void }, attempts = 3): Promise<{ device: Device; port: number; sup: RunningSupervisor; holder: { sup: RunningSupervisor } }> {
  const device = makeDevice({ supervisor: { trial: { attempts, loopLimit: 10 } } });
  const sup = await startSupervisor(device);
  const holder = { sup };
  t.after(() => teardown(device, holder.sup));
  const client = await sup.client();
  const events = await subscribe(client);
  const port = await freePort();
  await client.request('activate', { slot: await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '1.0.0', port }), jobId: 'base' });
  await events.next('committed');
  await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port });
  client.close();
  setConfig(device, (c) => (c.health.probationSeconds = 3600));
  await killSupervisor(sup);
  killRecordedApp(device);
  holder.sup = await startSupervisor(device);
  return { device, port, sup: holder.sup, holder };
}

async function activateAndKillInProbation(device: Device, sup: RunningSupervisor, port: number): Promise<void> {
  const client = await sup.client();
  await client.request('activate', { slot: 'b', jobId: 'job-2' });
  client.close();
  await sup.waitLog('probation-started');
  await waitForVersion(port, '2.0.0');
  await killSupervisor(sup);
  setConfig(device, (c) => (c.health.probationSeconds = 1));
}

function persisted(device: Device) {
  return new SlotStore(device.paths, silentLogger()).load().state;
}

test('killed mid-trial, same boot: the orphan app is stopped, an attempt is counted, the trial commits', { timeout: 120_000 }, async (t) => {
  const { device, port, sup, holder } = await deviceWithTrialReady(t);
  await activateAndKillInProbation(device, sup, port);
  assert.equal(await httpGet(port), '2.0.0', 'the app outlives a SIGKILLed supervisor');
  assert.equal(persisted(device).trial?.attemptsLeft, 2);
  holder.sup = await startSupervisor(device);
  await holder.sup.waitLog('trial-resumed-after-restart');
  await holder.sup.waitLog('orphan-app-stopped');
  await holder.sup.waitLog('committed');
  const s = persisted(device);
  assert.equal(s.committed, 'b');
  assert.equal(s.lastOutcome?.kind, 'committed');
  const resumed = holder.sup.logs.find((l) => l.event === 'trial-resumed-after-restart');
  assert.equal(resumed?.attemptsLeft, 2, 'the persisted count before this attempt');
  await waitForVersion(port, '2.0.0');
});

test('killed mid-trial, new boot: an attempt is counted under the new boot id', { timeout: 120_000 }, async (t) => {
  const { device, port, sup, holder } = await deviceWithTrialReady(t);
  await activateAndKillInProbation(device, sup, port);
  killRecordedApp(device); // a reboot ends every process
  device.setBootId('boot-2');
  holder.sup = await startSupervisor(device);
  await holder.sup.waitLog('trial-resumed-after-reboot');
  const client = await holder.sup.client();
  const status = await client.request('status');
  client.close();
  assert.ok(status.trial === null || (status.trial.attemptsLeft === 1 && status.trial.bootId === 'boot-2'));
  await holder.sup.waitLog('committed');
  assert.equal(holder.sup.logs.some((l) => l.event === 'orphan-app-stopped'), false, 'no orphan across a reboot');
});

test('attempts exhausted: the next start rolls back and the old version answers', { timeout: 120_000 }, async (t) => {
  const { device, port, sup, holder } = await deviceWithTrialReady(t, 1);
  await activateAndKillInProbation(device, sup, port);
  killRecordedApp(device);
  device.setBootId('boot-2');
  holder.sup = await startSupervisor(device);
  await waitForVersion(port, '1.0.0');
  const s = persisted(device);
  assert.equal(s.committed, 'a');
  assert.equal(s.trial, null);
  assert.ok(s.slots.b.status === 'failed' && s.slots.b.code === 'TRIAL_ATTEMPTS_EXHAUSTED');
  assert.ok(s.lastOutcome?.kind === 'rolled-back' && s.lastOutcome.code === 'TRIAL_ATTEMPTS_EXHAUSTED', 'the agent reads the outcome from status after reconnecting');
});

test('activate with reboot: the trial continues after the reboot without another attempt', { timeout: 120_000 }, async (t) => {
  const { device, port, sup, holder } = await deviceWithTrialReady(t);
  setConfig(device, (c) => (c.health.probationSeconds = 1));
  const client = await sup.client();
  const r = await client.request('activate', { slot: 'b', jobId: 'job-r', reboot: true });
  client.close();
  assert.equal(r.attemptsLeft, 2);
  await sup.waitLog('reboot-requested');
  assert.equal(persisted(device).trial?.phase, 'reboot-pending');
  // Same boot: the supervisor restarts before the reboot happened; it asks for the reboot again.
  await killSupervisor(sup);
  rmSync(device.rebootMarker, { force: true });
  holder.sup = await startSupervisor(device);
  await holder.sup.waitLog('reboot-requested');
  while (!existsSync(device.rebootMarker)) await sleep(20); // the reboot command ran again (test deadline bounds this)
  // Now the reboot: a new boot id, and the trial runs.
  await killSupervisor(holder.sup);
  device.setBootId('boot-2');
  holder.sup = await startSupervisor(device);
  const after = await holder.sup.waitLog('trial-after-reboot');
  assert.equal(after.attemptsLeft, 2, 'the asked-for reboot is not another attempt');
  await holder.sup.waitLog('committed');
  await waitForVersion(port, '2.0.0');
  const s = persisted(device);
  assert.equal(s.committed, 'b');
});

test('killed while rolling back: the rollback is finished with its reason', { timeout: 120_000 }, async (t) => {
  const { device, port, sup, holder } = await deviceWithTrialReady(t);
  await activateAndKillInProbation(device, sup, port);
  killRecordedApp(device);
  const store = new SlotStore(device.paths, silentLogger());
  store.save(beginRollback(store.load().state, 'HEALTH_HTTP_FAILED', 'failed 3 probes'));
  holder.sup = await startSupervisor(device);
  await holder.sup.waitLog('resume-rollback');
  await waitForVersion(port, '1.0.0');
  const s = persisted(device);
  assert.deepEqual(s.slots.b, { status: 'failed', version: '2.0.0', reason: 'failed 3 probes', code: 'HEALTH_HTTP_FAILED' });
  assert.equal(s.committed, 'a');
});
