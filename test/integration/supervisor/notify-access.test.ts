// The notify channel against real senders: who is heard (the app's main process, its
// descendants, its cgroup) and who is not, how refusals are logged (at most one line a second,
// with a count), what is dropped (too long, NUL bytes, no credentials) or never taken in (passed
// descriptors), and the socket's directory and file modes (as root).

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setImmediate as tick } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { Clock } from '../../../common/clock.ts';
import { appProcessTree } from '../../../supervisor/health/app-tree.ts';
import { openNotifyChannel, type NotifyChannel, type NotifyEntry } from '../../../supervisor/health/notify-channel.ts';
import { captureLog, type CapturedLog } from '../../fixtures/apps/harness.ts';

const isRoot = process.getuid?.() === 0;
const PYTHON = '/usr/bin/python3';

// Waits for a line on stdin, sends each message of argv[2] (JSON), the last one with argv[3]
// descriptors of /dev/null attached, prints "sent", and exits at the end of stdin.
const SENDER = `
import array, json, os, socket, sys
path, messages, fds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
sys.stdin.readline()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i, m in enumerate(messages):
    data = m.encode()
    if fds and i == len(messages) - 1:
        held = [os.open('/dev/null', os.O_RDONLY) for _ in range(fds)]
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', held).tobytes())], 0, path)
    else:
        s.sendto(data, path)
print('sent', flush=True)
sys.stdin.read()
`;

interface Sender {
  pid: number;
  /** Sends the messages and resolves once they are queued; the sender stays alive until end(). */
  send(): Promise<void>;
  end(): Promise<void>;
}

function sender(path: string, messages: string[], fds = 0): Sender {
  const child = spawn(PYTHON, ['-c', SENDER, path, JSON.stringify(messages), String(fds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit');
  after(() => void child.kill('SIGKILL'));
  return {
    pid: child.pid ?? -1,
    async send() {
      child.stdin.write('go\n');
      const [line] = (await once(lines, 'line')) as [string];
      assert.equal(line, 'sent');
    },
    async end() {
      child.stdin.end();
      await exited;
    },
  };
}

/** A clock that moves only when told to. */
function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let t = 0;
  const sleepers = new Set<{ at: number; wake: () => void }>();
  return {
    now: () => t,
    monotonic: () => t,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        const s = { at: t + ms, wake: resolve };
        sleepers.add(s);
        signal?.addEventListener('abort', () => {
          sleepers.delete(s);
          reject(new Error('aborted'));
        }, { once: true });
      }),
    async advance(ms) {
      t += ms;
      for (const s of [...sleepers]) {
        if (s.at > t) continue;
        sleepers.delete(s);
        s.wake();
      }
      await tick();
      await tick();
    },
  };
}

interface Rig {
  dir: string;
  path: string;
  clock: ReturnType<typeof manualClock>;
  log: CapturedLog;
  channel: NotifyChannel;
  heard: NotifyEntry[];
  /** The app's main pid, as the predicate reads it. */
  main: { pid: number };
  refusals(): Record<string, unknown>[];
}

async function rig(opts: { cgroup?: () => string | null } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-notify-'));
  const path = join(dir, 'notify.sock');
  const clock = manualClock();
  const log = captureLog();
  const main = { pid: process.pid };
  const isAppProcess = appProcessTree({ mainPid: () => main.pid, ...(opts.cgroup === undefined ? {} : { cgroup: opts.cgroup }) });
  const channel = await openNotifyChannel(path, { clock, logger: log.logger, access: { gid: null, isAppProcess } });
  const heard: NotifyEntry[] = [];
  const subscription = new AbortController();
  channel.subscribe(subscription.signal, (e) => heard.push(e));
  after(() => {
    subscription.abort();
    channel.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, path, clock, log, channel, heard, main, refusals: () => log.lines.filter((l) => l['event'] === 'notify-refused') };
}

// The test process's children descend from it: with the main pid set to it, they are the app's.
describe('notify channel: who is heard', () => {
  it('hears the app\'s main process\'s descendants', async () => {
    const r = await rig();
    const s = sender(r.path, ['READY=1\nSTATUS=up']);
    await s.send();
    await r.clock.advance(50);
    assert.deepEqual(r.heard.map((e) => Object.fromEntries(e.message)), [{ READY: '1', STATUS: 'up' }]);
    assert.deepEqual(r.refusals(), []);
    await s.end();
  });

  it('drops what others send, logging at most one line a second with how many there were', async () => {
    const r = await rig();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    after(() => void sleeper.kill('SIGKILL'));
    r.main.pid = sleeper.pid ?? -1; // the sender is the test's child, not the sleeper's
    const s = sender(r.path, ['READY=1', 'READY=1', 'WATCHDOG=trigger', 'READY=1', 'READY=1']);
    await s.send();
    await r.clock.advance(50);
    assert.deepEqual(r.heard, [], 'nothing is heard');
    assert.equal(r.refusals().length, 1, 'the first refusal is logged at once');
    assert.deepEqual(pick(r.refusals()[0]), { count: 1, reason: 'not the app', pid: s.pid, uid: process.getuid?.() });
    await r.clock.advance(999);
    assert.equal(r.refusals().length, 1, 'not a second line within the second');
    await r.clock.advance(1);
    assert.equal(r.refusals().length, 2);
    assert.deepEqual(pick(r.refusals()[1]), { count: 4, reason: 'not the app', pid: s.pid, uid: process.getuid?.() });
    await r.clock.advance(5000);
    assert.equal(r.refusals().length, 2, 'nothing more to log');
    await s.end();
  });

  it('drops a datagram longer than 4096 bytes or with a NUL byte; keeps only what the check reads; takes in no descriptor', async () => {
    const r = await rig();
    const fdsBefore = devNulls();
    const s = sender(r.path, ['READY=1\n' + 'x'.repeat(5000), 'READY=1\u0000', `STATUS=${'s'.repeat(1000)}\nFOO=bar\nWATCHDOG=1`], 50);
    await s.send();
    await r.clock.advance(50);
    assert.equal(r.heard.length, 1, 'only the last datagram is heard');
    const message = r.heard[0]?.message;
    assert.deepEqual([...(message?.keys() ?? [])].sort(), ['STATUS', 'WATCHDOG']);
    assert.equal(message?.get('STATUS'), 's'.repeat(256), 'STATUS= is cut');
    assert.equal(devNulls(), fdsBefore, 'the 50 descriptors of /dev/null were never installed');
    assert.equal(pick(r.refusals()[0])['reason'], 'too long');
    await r.clock.advance(1000);
    assert.deepEqual(pick(r.refusals()[1]), { count: 1, reason: 'malformed', pid: s.pid, uid: process.getuid?.() });
    await s.end();
  });

  it('hears a process outside the PPid chain when it is in the app instance\'s cgroup', async (t) => {
    const group = makeCgroup();
    if (typeof group === 'string') return t.skip(group);
    after(() => group.remove());
    let cgroup: string | null = null;
    const r = await rig({ cgroup: () => cgroup });
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    after(() => void sleeper.kill('SIGKILL'));
    r.main.pid = sleeper.pid ?? -1;
    const s = sender(r.path, ['READY=1']);
    group.add(s.pid);
    await s.send();
    await r.clock.advance(50);
    assert.deepEqual(r.heard, [], 'no cgroup given: not heard');
    cgroup = group.path;
    const again = sender(r.path, ['READY=1']);
    group.add(again.pid);
    await again.send();
    await r.clock.advance(50);
    assert.equal(r.heard.length, 1, 'in the instance\'s cgroup: heard');
    await Promise.all([s.end(), again.end()]);
  });
});

describe('notify channel: the socket\'s directory', { skip: !isRoot && 'needs root (chown)' }, () => {
  const GID = 4242;
  const fresh = (): { parent: string; dir: string; path: string } => {
    const parent = mkdtempSync(join(tmpdir(), 'twinslot-notify-dir-'));
    after(() => rmSync(parent, { recursive: true, force: true }));
    const dir = join(parent, 'app');
    return { parent, dir, path: join(dir, 'notify.sock') };
  };
  const open = async (path: string, gid: number | null): Promise<NotifyChannel> => {
    const channel = await openNotifyChannel(path, { clock: manualClock(), logger: captureLog().logger, access: { gid, isAppProcess: () => false } });
    after(() => channel.close());
    return channel;
  };
  const modes = (p: string): { uid: number; gid: number; mode: number } => {
    const st = lstatSync(p);
    return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  };

  it('is root:<the app\'s gid> 0750 and the socket 0660 in it; a symlink in its place is replaced, not followed', async () => {
    const { parent, dir, path } = fresh();
    const decoy = join(parent, 'decoy');
    mkdirSync(decoy);
    chmodSync(decoy, 0o777);
    symlinkSync(decoy, dir);
    await open(path, GID);
    assert.ok(lstatSync(dir).isDirectory());
    assert.deepEqual(modes(dir), { uid: 0, gid: GID, mode: 0o750 });
    assert.ok(lstatSync(path).isSocket());
    assert.deepEqual(modes(path), { uid: 0, gid: GID, mode: 0o660 });
    assert.deepEqual(readdirSync(decoy), []);
    assert.equal(statSync(decoy).mode & 0o7777, 0o777);
  });

  it('replaces a file or another owner\'s directory in its place', async () => {
    const file = fresh();
    writeFileSync(file.dir, 'not a directory');
    await open(file.path, GID);
    assert.deepEqual(modes(file.dir), { uid: 0, gid: GID, mode: 0o750 });

    const foreign = fresh();
    mkdirSync(foreign.dir);
    writeFileSync(join(foreign.dir, 'planted'), '');
    chownSync(foreign.dir, 65534, 65534);
    await open(foreign.path, GID);
    assert.deepEqual(modes(foreign.dir), { uid: 0, gid: GID, mode: 0o750 });
    assert.equal(existsSync(join(foreign.dir, 'planted')), false);
  });

  it('re-owns the directory and the socket when the next app has another group', async () => {
    const { dir, path } = fresh();
    const channel = await open(path, GID);
    channel.admit({ gid: GID + 1, isAppProcess: () => false });
    assert.deepEqual(modes(dir), { uid: 0, gid: GID + 1, mode: 0o750 });
    assert.deepEqual(modes(path), { uid: 0, gid: GID + 1, mode: 0o660 });
  });

  it('refuses a parent directory others may write', async () => {
    const { parent, path } = fresh();
    chmodSync(parent, 0o777);
    await assert.rejects(open(path, GID), { code: 'HEALTH_NOTIFY_SOCKET_FAILED' });
  });

  it('without a gid (the supervisor is not root) only makes the directory, and the socket is 0666', async () => {
    const { dir, path } = fresh();
    await open(path, null);
    assert.equal(modes(dir).uid, process.getuid?.());
    assert.equal(modes(path).mode, 0o666);
  });
});

// How many of this process's descriptors are open on /dev/null.
function devNulls(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/null';
    } catch {
      return false; // the directory's own descriptor, closed by now
    }
  }).length;
}

function pick(line: Record<string, unknown> | undefined): Record<string, unknown> {
  return { count: line?.['count'], reason: line?.['reason'], pid: line?.['pid'], uid: line?.['uid'] };
}

// A cgroup v2 of the test's own, or why there is none.
function makeCgroup(): string | { path: string; add(pid: number): void; remove(): void } {
  if (!isRoot) return 'needs root (cgroup v2)';
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - cgroup2 '));
  const fields = line?.split(' ');
  const [root, mountPoint] = [fields?.[3], fields?.[4]];
  if (root === undefined || mountPoint === undefined) return 'no cgroup2 mount';
  const name = `twinslot-notify-test-${process.pid}`;
  const dir = join(mountPoint, name);
  try {
    mkdirSync(dir);
  } catch (err) {
    return `cannot make a cgroup: ${(err as Error).message}`;
  }
  const path = `${root.replace(/\/$/, '')}/${name}`;
  return {
    path,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    remove: () => {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(mountPoint, 'cgroup.procs'), pid);
      rmdirSync(dir);
    },
  };
}
