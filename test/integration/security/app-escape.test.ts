// Attack: the app (a real unprivileged user) starts processes that leave its process group and
// session (a setsid double fork, a detached Node child), both ignoring SIGTERM. Whatever ends
// the app — a stop of the supervisor, an update, a rollback, the orphan kill after a supervisor
// restart in the same boot — must end them too.
//
// Runs once per containment this machine offers: `cgroup` (the supervisor started in a cgroup
// of its own, as systemd's Delegate=yes gives it) where cgroup v2 is mounted and writable, and
// always `uid-sweep` (the supervisor started in a mount namespace without any cgroup2 mount, as
// on the QEMU image). Each test checks in `status` that the containment it meant to test ran.

import { strict as assert } from 'node:assert';
import { chmodSync, readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import type { StatusReport } from '../../../ipc/protocol.ts';
import { testUsers, type TestUser } from '../../helpers/users.ts';
import { cgroup2MountPoints, cgroupOf, cgroupSkipReason, makeTestCgroup } from '../../fixtures/apps/test-cgroup.ts';
import {
  committedDevice, install, startSupervisor, subscribe, teardown, waitForVersion,
  type Device, type RunningSupervisor,
} from '../supervisor/harness.ts';

const ROOT = process.getuid?.() === 0;
const users = ROOT ? testUsers() : null;

type Mode = 'cgroup' | 'uid-sweep';

// A launcher: how the supervisor's process is placed before it execs (see the header).
interface Placement {
  prefix: string[];
  cleanup(): Promise<void>;
}

function placement(mode: Mode): Placement {
  if (mode === 'uid-sweep') {
    const points = cgroup2MountPoints();
    for (const p of points) assert.match(p, /^[\w/.-]+$/);
    const unmount = points.length === 0 ? '' : `umount -- ${points.join(' ')} && `;
    return { prefix: ['unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', `${unmount}exec "$@"`, 'sh'], cleanup: () => Promise.resolve() };
  }
  const cg = makeTestCgroup('test');
  // A restart joins the leaf the first supervisor moved itself into, as systemd's
  // DelegateSubgroup=supervisor starts a unit's process there.
  const join_ = 'if [ -d "$1/supervisor" ]; then d="$1/supervisor"; else d="$1"; fi; echo $$ > "$d/cgroup.procs" && shift && exec "$@"';
  return { prefix: ['/bin/sh', '-c', join_, 'sh', cg.dir], cleanup: () => cg.remove() };
}

interface ProcInfo {
  state: string;
  session: number;
  uid: number;
}

function proc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { state: fields[0] ?? '', session: Number(fields[3]), uid: Number(uid) };
  } catch {
    return null;
  }
}

const live = (pid: number): boolean => {
  const p = proc(pid);
  return p !== null && p.state !== 'Z' && p.state !== 'X';
};

// The pids the instance of `version` reported, once both escapees run outside the app's session.
async function escapees(sup: RunningSupervisor, version: string, app: TestUser): Promise<number[]> {
  const pids: number[] = [];
  for (const kind of ['setsid', 'detached']) {
    const line = await sup.waitLog('app-output', (l) => l['version'] === version && String(l['line']).startsWith(`escaped-pid=${kind}:`));
    const pid = Number(String(line['line']).split(':')[1]);
    const info = proc(pid);
    assert.ok(info !== null && live(pid), `${kind} escapee ${pid} runs`);
    assert.equal(info.uid, app.uid, `${kind} escapee runs as the app user`);
    assert.notEqual(info.session, line['pid'], `${kind} escapee left the app's session`);
    pids.push(pid);
  }
  return pids;
}

function assertGone(pids: number[], after: string): void {
  const left = pids.filter(live);
  assert.deepEqual(left, [], `escaped processes still alive after ${after}: ${left.map((p) => `${p} ${JSON.stringify(proc(p))}`).join(', ')}`);
}

// What `status` says about the containment, printed in the test output; check it with assertMode.
async function containment(t: TestContext, sup: RunningSupervisor): Promise<StatusReport['containment']> {
  const client = await sup.client();
  const status: StatusReport = await client.request('status');
  client.close();
  t.diagnostic(`containment: ${JSON.stringify(status.containment)}`);
  return status.containment;
}

function assertMode(report: StatusReport['containment'], mode: Mode): void {
  assert.equal(report?.mode, mode, `the ${mode} containment ran`);
}

// A device running escapes.mjs 1.0.0 (or `fixture`) as the app user, its supervisor placed for `mode`.
async function setUp(t: TestContext, mode: Mode, fixture = 'escapes.mjs'): Promise<{ device: Device; sup: RunningSupervisor; port: number; place: Placement; holder: { sup: RunningSupervisor | null }; kill: number[] }> {
  assert.ok(users);
  const { device, port: portP } = committedDevice({ supervisor: { allowRootApps: false }, app: { user: users.app.name, allowedUsers: [users.app.name] } }, fixture);
  chmodSync(device.root, 0o755); // mkdtemp's 0700 would keep the app user out of its slot
  const port = await portP;
  const place = placement(mode);
  const holder: { sup: RunningSupervisor | null } = { sup: null };
  const kill: number[] = [];
  t.after(async () => {
    await teardown(device, holder.sup);
    for (const pid of kill) if (live(pid)) process.kill(pid, 'SIGKILL'); // what an unfixed supervisor leaves
    await place.cleanup();
  });
  holder.sup = await startSupervisor(device, { prefix: place.prefix });
  return { device, sup: holder.sup, port, place, holder, kill };
}

const modes: Array<{ mode: Mode; skip: string | false }> = [
  { mode: 'cgroup', skip: cgroupSkipReason() },
  { mode: 'uid-sweep', skip: ROOT ? false : 'needs root' },
];

for (const { mode, skip } of modes) {
  describe(`escaped app processes die with the app (${mode})`, { skip, timeout: 120_000 }, () => {
    it('a stop of the supervisor ends them', async (t) => {
      const { sup, kill } = await setUp(t, mode);
      assert.ok(users);
      const pids = await escapees(sup, '1.0.0', users.app);
      kill.push(...pids);
      const report = await containment(t, sup);
      if (report?.mode === 'cgroup') for (const pid of pids) assert.equal(cgroupOf(pid), report.cgroup, `escapee ${pid} is in the instance's cgroup`);
      sup.child.kill('SIGTERM');
      assert.deepEqual(await sup.exited, { code: 0, signal: null });
      assertGone(pids, 'the supervisor stopped');
      assertMode(report, mode);
    });

    it('an update ends the old instance\'s', async (t) => {
      const { device, sup, port, kill } = await setUp(t, mode);
      assert.ok(users);
      const pids = await escapees(sup, '1.0.0', users.app);
      kill.push(...pids);
      const client = await sup.client();
      const events = await subscribe(client);
      const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port });
      await client.request('activate', { slot, jobId: 'update' });
      await sup.waitLog('app-stopped', (l) => l['version'] === '1.0.0');
      assertGone(pids, 'the update stopped 1.0.0');
      await events.next('committed');
      await waitForVersion(port, '2.0.0');
      client.close();
      assertMode(await containment(t, sup), mode);
    });

    it('a rollback ends the rolled-back instance\'s', async (t) => {
      const { device, sup, port, kill } = await setUp(t, mode, 'healthy-http.mjs');
      assert.ok(users);
      const client = await sup.client();
      const events = await subscribe(client);
      const slot = await install(client, device.paths, { fixture: 'escapes.mjs', version: '2.0.0', port });
      await client.request('activate', { slot, jobId: 'update' });
      const pids = await escapees(sup, '2.0.0', users.app);
      kill.push(...pids);
      await events.next('committed');
      await client.request('rollback', { jobId: 'back' });
      await sup.waitLog('app-stopped', (l) => l['version'] === '2.0.0');
      assertGone(pids, 'the rollback stopped 2.0.0');
      await waitForVersion(port, '1.0.0');
      client.close();
      assertMode(await containment(t, sup), mode);
    });

    it('a supervisor restarted in the same boot ends its predecessor\'s', async (t) => {
      const { device, sup, place, holder, kill } = await setUp(t, mode);
      assert.ok(users);
      const pids = await escapees(sup, '1.0.0', users.app);
      kill.push(...pids);
      sup.child.kill('SIGKILL'); // the app and its escapees live on
      await sup.exited;
      assert.deepEqual(pids.filter(live), pids);
      holder.sup = await startSupervisor(device, { prefix: place.prefix });
      await holder.sup.waitLog('orphan-app-stopped');
      await holder.sup.waitLog('app-started');
      assertGone(pids, 'the orphan kill');
      await escapees(holder.sup, '1.0.0', users.app).then((next) => kill.push(...next));
      assertMode(await containment(t, holder.sup), mode);
    });
  });
}
