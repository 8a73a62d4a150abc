// runCommand: the short commands of the supervisor (command probes, getent) on node:child_process.
// Real processes; a timeout or an abort must take the command's whole process group with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../../supervisor/command.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid a shell printed on its first stdout line is gone within `ms` (it may be a zombie being reaped). */
async function gone(pid: number, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test('exit code, captured stdout and the tail of stderr', async () => {
  const r = await runCommand('sh', ['-c', 'echo out; echo first >&2; echo "last words" >&2; exit 3'], { captureStdout: true });
  assert.deepEqual({ end: r.end, out: r.stdout, err: r.stderrTail }, {
    end: { kind: 'exited', code: 3, signal: null },
    out: 'out\n',
    err: 'first\nlast words',
  });
});

test('stdout is discarded unless asked for, and capped at maxOutput', async () => {
  assert.equal((await runCommand('sh', ['-c', 'echo hidden'])).stdout, '');
  const r = await runCommand('sh', ['-c', 'head -c 100000 /dev/zero | tr "\\0" x'], { captureStdout: true, maxOutput: 1000 });
  assert.deepEqual(r.end, { kind: 'exited', code: 0, signal: null });
  assert.equal(r.stdout, 'x'.repeat(1000));
});

test('a command that cannot start resolves with its spawn error, never rejects', async () => {
  const r = await runCommand('twinslot-no-such-command', []);
  assert.equal(r.end.kind === 'not-started' && r.end.error.code, 'ENOENT');
  const cwd = await runCommand('true', [], { cwd: '/nonexistent-twinslot-dir' });
  assert.equal(cwd.end.kind === 'not-started' && cwd.end.error.code, 'ENOENT');
});

test('a timeout kills the whole process group, the command\'s own children too', async () => {
  const t0 = Date.now();
  const r = await runCommand('sh', ['-c', 'sleep 30 & echo $!; wait'], { captureStdout: true, timeoutMs: 300 });
  assert.deepEqual(r.end, { kind: 'timed-out', signal: 'SIGKILL' });
  assert.ok(Date.now() - t0 < 10_000, 'did not wait for sleep 30');
  const grandchild = Number(r.stdout.trim());
  assert.ok(grandchild > 0, r.stdout);
  assert.ok(await gone(grandchild), `the backgrounded sleep (${grandchild}) was killed with its group`);
});

test('an abort kills the group and says so; an aborted signal runs nothing', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const r = await runCommand('sleep', ['30'], { signal: controller.signal });
  assert.deepEqual(r.end, { kind: 'aborted', signal: 'SIGKILL' });
  const before = await runCommand('sh', ['-c', 'exit 0'], { signal: AbortSignal.abort() });
  assert.deepEqual(before.end, { kind: 'aborted', signal: null });
});

test('a command that exits leaving a child on its stderr resolves with its own exit code, not a timeout', async () => {
  const r = await runCommand('sh', ['-c', 'sleep 30 & echo $! >&2; exit 0'], { timeoutMs: 5000 });
  assert.deepEqual(r.end, { kind: 'exited', code: 0, signal: null });
  const leftover = Number(r.stderrTail);
  assert.ok(leftover > 0);
  process.kill(leftover, 'SIGKILL');
});
