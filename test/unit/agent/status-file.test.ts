// The agent's status off its own process: status.json read without trusting it (for `twinslot
// status` with no supervisor), and the pushes to the supervisor on a timer and at stop.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../common/log.ts';
import type { AgentStatusReport } from '../../../ipc/protocol.ts';
import { readStatusFileSafely, StatusPusher, statusFilePath, type AgentStatus } from '../../../agent/status-file.ts';

const status: AgentStatus = {
  pid: 42, updatedAt: '2026-01-01T00:00:00.000Z', thingName: 'dev-1', clientId: 'dev-1', job: null,
  connection: { state: 'connected', connects: 1, rejoinedSessions: 0, disconnects: {}, connectFailures: 0, authFailures: 0, failovers: 0, lastReconnectDelayMs: 0, reconnectDelayTotalMs: 0 },
  outbox: { depth: 0, bytes: 0, inFlight: 0, acked: 3, dropped: 0, refused: 0 },
};

function agentDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-status-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a well-formed status.json is read with its mtime; none is undefined', (t) => {
  const dir = agentDir(t);
  assert.equal(readStatusFileSafely(dir), undefined);
  writeFileSync(statusFilePath(dir), JSON.stringify(status, null, 2));
  const read = readStatusFileSafely(dir);
  assert.ok(read && 'status' in read);
  assert.deepEqual(read.status, status);
  assert.ok(read.mtimeMs > 0);
});

test('a symlink, a FIFO, a hard link, an oversized or non-JSON file is refused without quoting it', (t) => {
  const dir = agentDir(t);
  const path = statusFilePath(dir);
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'root:$y$j9T$secret-hash:19000:0:99999:7:::\n');
  const cases: Array<[string, () => void, RegExp]> = [
    ['symlink', () => symlinkSync(secret, path), /symbolic link/],
    ['fifo', () => execFileSync('mkfifo', [path]), /not a regular file/],
    ['hard link', () => linkSync(secret, path), /more than one link/],
    ['oversized', () => writeFileSync(path, `{"pid":1,"x":"${'x'.repeat(70 * 1024)}"}`), /larger than/],
    ['not JSON', () => writeFileSync(path, 'root:$y$j9T$secret-hash\n'), /not JSON/],
    ['wrong shape', () => writeFileSync(path, JSON.stringify({ ...status, pid: 'x' })), /pid must be an integer/],
  ];
  for (const [what, make, message] of cases) {
    rmSync(path, { force: true });
    make();
    const read = readStatusFileSafely(dir);
    assert.ok(read && 'error' in read, what);
    assert.match(read.error, message, what);
    assert.ok(!read.error.includes('secret-hash'), `${what} quotes the file`);
  }
});

test('pushes on the interval, skips while one is under way, and pushes once more at stop even if the supervisor hangs', async () => {
  const sent: AgentStatusReport[] = [];
  let hang = false;
  let state: AgentStatus['connection']['state'] = 'connected';
  const pusher = new StatusPusher({
    build: () => ({ ...status, connection: { ...status.connection, state } }),
    send: (r) => {
      sent.push(r);
      return hang ? new Promise(() => undefined) : Promise.resolve();
    },
    intervalMs: 20, log: silentLogger(),
  });
  pusher.start();
  while (sent.length < 3) await sleep(10);
  hang = true;
  const before = sent.length;
  while (sent.length === before) await sleep(10); // the one that hangs
  await sleep(100);
  assert.equal(sent.length, before + 1, 'no push while one hangs');
  state = 'stopped';
  await pusher.stop(50);
  assert.equal(sent.at(-1)?.connection.state, 'stopped');
  const after = sent.length;
  await sleep(60);
  assert.equal(sent.length, after, 'the timer is gone');
});
