// Hardening with real processes: the app's user when the supervisor is root (app.user, the
// allowRootApps gate), a manifest whose health override the supervisor refuses, activation
// health that survives a supervisor restart, and the `reboot` request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SlotStore } from '../../../slots/store.ts';
import { initialState } from '../../../slots/state.ts';
import { silentLogger } from '../../../common/log.ts';
import { CodedError } from '../../../common/errors.ts';
import {
  fillSlot, freePort, httpGet, install, killSupervisor, makeDevice, slotManifestDigest, startSupervisor, subscribe, teardown, waitForVersion,
  type Device,
} from './harness.ts';

const isRoot = process.getuid?.() === 0;

// Slot a holds 1.0.0, committed, as the installer leaves it.
async function committed(over: Parameters<typeof makeDevice>[0]): Promise<{ device: Device; port: number }> {
  const device = makeDevice(over);
  const port = await freePort();
  fillSlot(device.paths, 'a', { fixture: 'healthy-http.mjs', version: '1.0.0', port });
  const store = new SlotStore(device.paths, silentLogger());
  const state = initialState('a');
  state.slots.a = { status: 'ready', version: '1.0.0', manifestSha256: slotManifestDigest(device.paths, 'a') };
  store.save(state);
  store.flipCurrent('a');
  return { device, port };
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

async function rejection(p: Promise<unknown>): Promise<CodedError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CodedError) return err;
    throw err;
  }
  throw new Error('the request was not refused');
}

test('as root: the app runs as app.user; a manifest naming root is refused at slot-ready, a bad health override fails its trial', { skip: !isRoot && 'needs root', timeout: 180_000 }, async (t) => {
  const { device, port } = await committed({ app: { user: 'nobody' }, supervisor: { allowRootApps: false } });
  chmodSync(device.root, 0o755); // mkdtemp made it 0700: `nobody` must reach its slot
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(port, '1.0.0');
  const client = await sup.client();
  t.after(() => client.close());
  const pid = (await client.request('status')).app?.pid;
  assert.ok(typeof pid === 'number');
  assert.equal(uidOf(pid), 65534, 'the app runs as nobody, not root');

  const events = await subscribe(client);
  const port2 = await freePort();
  // Refused at slot-ready, before anything is stopped: the device chooses the app's account.
  const refused = await rejection(install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port: port2, user: 'root' }));
  assert.equal(refused.code, 'APP_USER_NOT_ALLOWED');
  assert.match(refused.message, /as root: not in app\.allowedUsers \(nobody\)/);
  assert.equal(await httpGet(port2), null, 'the root app never started');
  await waitForVersion(port, '1.0.0');

  // The bundle's parser lets intervalMs 0 through; the supervisor would spin on it and refuses.
  const badSlot = await install(client, device.paths, {
    fixture: 'healthy-http.mjs', version: '2.0.1', port: port2, health: { http: { url: `http://127.0.0.1:${port2}/health`, intervalMs: 0 } },
  });
  await client.request('activate', { slot: badSlot, jobId: 'bad-health' });
  const bad = await events.next('rolled-back');
  assert.equal(bad.code, 'HEALTH_SPEC_INVALID');
  assert.match(bad.reason, /manifest\.health\.http\.intervalMs: must be an integer in \[10, /);
  await waitForVersion(port, '1.0.0');
  assert.equal(sup.child.exitCode, null, 'the supervisor is still running');
});

test('activation health applies to the trial and survives a supervisor restart; reboot is refused meanwhile', { timeout: 180_000 }, async (t) => {
  const { device, port } = await committed({});
  let sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(port, '1.0.0');
  let client = await sup.client();
  const port2 = await freePort();
  const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port: port2 });
  const health = { probationSeconds: 3600, startTimeoutSeconds: 50 };
  await client.request('activate', { slot, jobId: 'long-probation', health });
  const probation = (l: Record<string, unknown>): boolean => l.probationMs === 3_600_000;
  await sup.waitLog('probation-started', probation);
  const busy = await rejection(client.request('reboot', { jobId: 'r-0' }));
  assert.equal(busy.code, 'TRIAL_IN_PROGRESS');
  assert.equal(existsSync(device.rebootMarker), false);
  client.close();

  await killSupervisor(sup);
  sup = await startSupervisor(device);
  client = await sup.client();
  t.after(() => client.close());
  const status = await client.request('status');
  assert.deepEqual(status.trial?.health, health);
  assert.equal(status.trial?.attemptsLeft, 1, 'the restart counted an attempt');
  await sup.waitLog('probation-started', probation);
  await waitForVersion(port2, '2.0.0');
});

test('reboot: the app stops, the agent hears it, the command runs; a failing command brings the app back', { timeout: 120_000 }, async (t) => {
  const { device, port } = await committed({});
  let sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(port, '1.0.0');
  let client = await sup.client();
  const events = await subscribe(client);
  assert.deepEqual(await client.request('reboot', { jobId: 'reboot-1' }), { rebooting: true });
  const event = await events.next('reboot');
  assert.equal(event.jobId, 'reboot-1');
  assert.ok(existsSync(device.rebootMarker), 'the reboot command ran');
  assert.equal(await httpGet(port), null, 'the app was stopped first');
  const stopped = sup.logs.findIndex((l) => l.event === 'app-stopped');
  const ran = sup.logs.findIndex((l) => l.event === 'reboot-requested');
  assert.ok(stopped >= 0 && ran > stopped, 'app stopped before the command ran');
  client.close();

  await teardown({ ...device, cleanup: () => undefined }, sup);
  const config = JSON.parse(readFileSync(device.configPath, 'utf8')) as { supervisor: Record<string, unknown> };
  config.supervisor.rebootCommand = ['false'];
  writeFileSync(device.configPath, JSON.stringify(config));
  sup = await startSupervisor(device);
  await waitForVersion(port, '1.0.0');
  client = await sup.client();
  t.after(() => client.close());
  const failed = await rejection(client.request('reboot', {}));
  assert.equal(failed.code, 'REBOOT_FAILED');
  await waitForVersion(port, '1.0.0');
});
