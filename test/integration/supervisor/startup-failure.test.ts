// A supervisor that fails during start-up after arming the watchdog exits non-zero, having
// stopped petting, closed the device armed (no magic close) and released what it made — never a
// process that pets on with no IPC and no app.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { committedDevice, httpGet, launchSupervisor, makeDevice, readJournal, teardown, type Device, type RunningSupervisor } from './harness.ts';

// The record of one failed start: ops in order, and what came after the close.
function assertClosedArmed(device: Device): void {
  const ops = readJournal(device).map((e) => e.op);
  assert.equal(ops[0], 'open', 'the watchdog was armed');
  assert.equal(ops.includes('magic-close'), false, 'no magic close');
  const close = ops.indexOf('armed-close');
  assert.ok(close > 0, `closed armed: ${ops.join(',')}`);
  assert.equal(close, ops.length - 1, `nothing after the armed close: ${ops.join(',')}`);
}

async function failedExit(sup: RunningSupervisor): Promise<void> {
  const exit = await sup.exited;
  assert.equal(exit.signal, null);
  assert.notEqual(exit.code, 0, 'exits non-zero');
  assert.ok(exit.code !== null && exit.code > 0);
}

test('a socket group that does not exist: the supervisor exits non-zero with the watchdog closed armed', { timeout: 90_000 }, async (t) => {
  const device = makeDevice({ supervisor: { socketGroup: 'twinslot-no-such-group-x' } });
  const sup = launchSupervisor(device);
  t.after(() => teardown(device, sup));
  await failedExit(sup);
  const failed = await sup.waitLog('supervisor-failed');
  assert.equal(failed.phase, 'start');
  assert.match(String(failed.err), /no such group: twinslot-no-such-group-x/);
  await sup.waitLog('non-json', (l) => /GROUP_UNKNOWN/.test(String(l.line)));
  assertClosedArmed(device);
  assert.equal(existsSync(device.paths.supervisorSocket), false, 'no IPC socket');
});

test('a start that fails after the app and the socket are up releases both and exits non-zero', { timeout: 90_000 }, async (t) => {
  // The metrics port is taken, so the last start-up step fails after the committed app started.
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const address = blocker.address();
  const metricsPort = typeof address === 'object' && address ? address.port : 0;
  const { device, port } = committedDevice({ supervisor: { metricsPort } });
  const p = await port;
  const sup = launchSupervisor(device);
  t.after(() => teardown(device, sup));
  const started = await sup.waitLog('app-started');
  await failedExit(sup);
  await sup.waitLog('app-stopped', (l) => l.pid === started.pid);
  const failed = await sup.waitLog('supervisor-failed');
  assert.match(String(failed.err), /EADDRINUSE/);
  assertClosedArmed(device);
  assert.equal(existsSync(device.paths.supervisorSocket), false, 'the IPC socket is removed');
  assert.equal(await httpGet(p), null, 'the app is stopped');
  assert.equal(sup.logs.some((l) => l.event === 'supervisor-release-timeout'), false);
});
