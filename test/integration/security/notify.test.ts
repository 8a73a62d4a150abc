// Attacks on the notify socket, with the real supervisor as root and the app as the real app
// user: a READY=1 from another user, or from the app's own user but outside the app's process
// tree, must not commit a release that never became ready; a WATCHDOG=trigger from them must not
// roll back a healthy trial. The socket's directory keeps every other user out, and one left at
// its place as a symlink is replaced, never followed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SupervisorEvent } from '../../../ipc/protocol.ts';
import { committedDevice, DEADLINE_MS, freePort, install, startSupervisor, subscribe, teardown, waitForVersion } from '../supervisor/harness.ts';
import { runAs, testUsers, type TestUser } from '../../helpers/users.ts';

const isRoot = process.getuid?.() === 0;
// A python3 every user may run (a pyenv shim under /root is not one): setup.sh installs Debian's.
const PYTHON = '/usr/bin/python3';

// Sends argv[2] to the socket argv[1] every 50 ms until the file argv[3] exists; one JSON line.
const ATTACK = `
import json, os, socket, sys, time
path, message, stop = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sent, refused, error = 0, 0, None
deadline = time.monotonic() + 50
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        s.sendto(message, path)
        sent += 1
    except OSError as e:
        refused += 1
        error = e.strerror
    time.sleep(0.05)
print(json.dumps({'sent': sent, 'refused': refused, 'error': error}))
`;

interface AttackResult {
  sent: number;
  refused: number;
  error: string | null;
}

function python(): string {
  try {
    accessSync(PYTHON, constants.X_OK);
  } catch {
    throw new Error(`${PYTHON} is missing: install the Debian package python3 (scripts/setup.sh does)`);
  }
  return PYTHON;
}

// The first commit or rollback at or after events[from].
async function outcome(events: SupervisorEvent[], from: number): Promise<SupervisorEvent> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const found = events.slice(from).find((e) => e.type === 'committed' || e.type === 'rolled-back');
    if (found) return found;
    await sleep(50);
  }
  throw new Error('the trial never ended');
}

test('notify socket: only the app\'s own processes are heard', { skip: !isRoot && 'needs root (the supervisor as root, attacks as real users)', timeout: 300_000 }, async (t) => {
  const py = python();
  const { app, nobody } = testUsers();
  const { device, port } = committedDevice({ app: { user: app.name, allowedUsers: [app.name] }, supervisor: { allowRootApps: false } });
  chmodSync(device.root, 0o755); // mkdtemp made it 0700: the app user and nobody must traverse it
  const basePort = await port;
  // A symlink where the socket's directory belongs: the supervisor must replace it, not follow it.
  const decoy = join(device.root, 'decoy');
  mkdirSync(decoy, { mode: 0o777 });
  chmodSync(decoy, 0o777);
  mkdirSync(device.paths.runDir, { recursive: true });
  symlinkSync(decoy, device.paths.appRunDir);

  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(basePort, '1.0.0');
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  // Runs `release` as a trial while `attacker` sends `message` from outside the app's tree.
  const trial = async (n: number, attacker: TestUser, message: string, env: Record<string, string>): Promise<{ end: SupervisorEvent; attack: AttackResult }> => {
    const slot = await install(client, device.paths, {
      fixture: 'notify-child.mjs', version: `2.0.${n}`, port: await freePort(), env: { NOTIFY_PYTHON: py, ...env },
      health: { startTimeoutSeconds: 5, probationSeconds: 4, notify: { watchdogSec: 2 } },
    });
    const from = events.events.length;
    await client.request('activate', { slot, jobId: `job-${n}` });
    await events.next('trial-started');
    const stop = join(device.root, `stop-attack-${n}`);
    const attack = runAs(attacker, [py, '-c', ATTACK, device.paths.notifySocket, message, stop]);
    const end = await outcome(events.events, from);
    writeFileSync(stop, '');
    const result = await attack;
    assert.equal(result.code, 0, result.stderr);
    return { end, attack: JSON.parse(result.stdout) as AttackResult };
  };
  const refusedFrom = (uid: number): boolean => sup.logs.some((l) => l['event'] === 'notify-refused' && l['uid'] === uid);

  await t.test('READY=1 from another user does not commit a release that never became ready', async () => {
    const { end, attack } = await trial(0, nobody, 'READY=1', { NOTIFY_NO_READY: '1' });
    assert.equal(end.type, 'rolled-back', `the trial ended with ${JSON.stringify(end)} (attack: ${JSON.stringify(attack)})`);
    assert.ok(end.type === 'rolled-back' && end.code === 'HEALTH_START_TIMEOUT', JSON.stringify(end));
    assert.equal(attack.sent, 0, `nobody reached the socket: ${JSON.stringify(attack)}`);
    await waitForVersion(basePort, '1.0.0');
  });

  await t.test('READY=1 from the app\'s user, outside the app\'s process tree, does not commit it either', async () => {
    const { end, attack } = await trial(1, app, 'READY=1', { NOTIFY_NO_READY: '1' });
    assert.equal(end.type, 'rolled-back', `the trial ended with ${JSON.stringify(end)} (attack: ${JSON.stringify(attack)})`);
    assert.ok(end.type === 'rolled-back' && end.code === 'HEALTH_START_TIMEOUT', JSON.stringify(end));
    assert.ok(attack.sent > 0, `the app's group reaches the socket: the sender check refused it (${JSON.stringify(attack)})`);
    assert.ok(refusedFrom(app.uid), 'the refused datagrams are logged');
    await waitForVersion(basePort, '1.0.0');
  });

  await t.test('WATCHDOG=trigger from another user does not roll back a healthy trial', async () => {
    const { end, attack } = await trial(2, nobody, 'WATCHDOG=trigger', {});
    assert.equal(end.type, 'committed', `the trial ended with ${JSON.stringify(end)} (attack: ${JSON.stringify(attack)})`);
    assert.equal(attack.sent, 0, `nobody reached the socket: ${JSON.stringify(attack)}`);
  });

  await t.test('WATCHDOG=trigger from the app\'s user, outside the app\'s process tree, does not either', async () => {
    const { end, attack } = await trial(3, app, 'WATCHDOG=trigger', {});
    assert.equal(end.type, 'committed', `the trial ended with ${JSON.stringify(end)} (attack: ${JSON.stringify(attack)})`);
    assert.ok(attack.sent > 0, JSON.stringify(attack));
  });

  await t.test('a sender the app started and that left its parent is heard in the app\'s cgroup', async (tt) => {
    const status = await client.request('status');
    if (status.containment?.mode !== 'cgroup') return tt.skip(`containment here is ${status.containment?.mode ?? 'unknown'}: a re-parented process is found only through the instance's cgroup`);
    const { end } = await trial(4, nobody, 'WATCHDOG=trigger', { NOTIFY_ORPHAN: '1' });
    assert.equal(end.type, 'committed', `the orphaned sender's READY=1 and heartbeats counted: ${JSON.stringify(end)}`);
  });

  await t.test('the socket lives in a directory only root and the app\'s group reach', () => {
    const dir = lstatSync(device.paths.appRunDir);
    assert.ok(dir.isDirectory() && !dir.isSymbolicLink(), 'the symlink was replaced by a directory');
    assert.deepEqual({ uid: dir.uid, gid: dir.gid, mode: dir.mode & 0o7777 }, { uid: 0, gid: app.gid, mode: 0o750 });
    const socket = statSync(device.paths.notifySocket);
    assert.ok(socket.isSocket());
    assert.deepEqual({ uid: socket.uid, gid: socket.gid, mode: socket.mode & 0o7777 }, { uid: 0, gid: app.gid, mode: 0o660 });
    assert.deepEqual(readdirSync(decoy), [], 'nothing was bound through the symlink');
    assert.equal(statSync(decoy).mode & 0o7777, 0o777, 'the symlink\'s target was not changed');
    assert.ok(existsSync(device.paths.notifySocket));
  });
});
