// The app runner's containment with real processes, the app running as the real unprivileged app
// user: what the app starts outside its process group (a setsid double fork, a detached child,
// both ignoring SIGTERM) dies with it at a stop and before a crash restart, in every mode this
// machine can run — cgroup with cgroup.kill, cgroup through the freezer (kernels before 5.14),
// and the uid sweep. The runner's report says which mode ran; the test output prints it.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { AppSpec } from '../../../supervisor/ports.ts';
import { Containment, createAppRunner, type ContainedAppRunner } from '../../../supervisor/runner/index.ts';
import type { InstanceRecord } from '../../../supervisor/runner/launch.ts';
import { testUsers } from '../../helpers/users.ts';
import { captureLog, fixtureSpec, nextEvent, type CapturedLog } from '../../fixtures/apps/harness.ts';
import { cgroupOf, cgroupSkipReason, makeTestCgroup } from '../../fixtures/apps/test-cgroup.ts';

const ROOT = process.getuid?.() === 0;
const users = ROOT ? testUsers() : null;
const CGROUP_SKIP = cgroupSkipReason();
const QUIET = { backoff: { initialMs: 20, factor: 1.5, maxMs: 100, stableMs: 60_000 }, crashLoop: { restarts: 10, windowMs: 60_000 } };

interface Variant {
  name: string;
  mode: 'cgroup' | 'uid-sweep';
  skip: string | false;
  useKillFile?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'cgroup, cgroup.kill', mode: 'cgroup', skip: CGROUP_SKIP },
  { name: 'cgroup, freezer (no cgroup.kill)', mode: 'cgroup', skip: CGROUP_SKIP, useKillFile: false },
  { name: 'uid-sweep', mode: 'uid-sweep', skip: ROOT ? false : 'needs root' },
];

interface Rig {
  runner: ContainedAppRunner;
  log: CapturedLog;
  records: InstanceRecord[];
}

function rig(t: TestContext, v: Variant, limits = { memoryMax: null as number | null, cpuWeight: null as number | null }): Rig {
  const log = captureLog();
  const base = v.mode === 'cgroup' ? makeTestCgroup('runner') : null;
  const containment = Containment.detect({ logger: log.logger, limits, protectedUids: [], cgroupBase: base?.dir ?? false, ...(v.useKillFile === undefined ? {} : { useKillFile: v.useKillFile }) });
  const records: InstanceRecord[] = [];
  const runner = createAppRunner({ logger: log.logger, stopTimeoutMs: 500, ...QUIET, containment, record: (r) => records.push(r) });
  t.after(async () => {
    await runner.stop();
    await base?.remove();
  });
  const report = runner.containment();
  t.diagnostic(`containment: ${JSON.stringify(report)}`);
  assert.equal(report.mode, v.mode, `the ${v.mode} containment ran`);
  return { runner, log, records };
}

function asAppUser(spec: AppSpec): AppSpec {
  assert.ok(users);
  return { ...spec, entrypoint: { ...spec.entrypoint, user: users.app.name } };
}

function live(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function escapees(log: CapturedLog, appPid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const kind of ['setsid', 'detached']) {
    const line = await log.waitFor((l) => l['pid'] === appPid && String(l['line']).startsWith(`escaped-pid=${kind}:`));
    pids.push(Number(String(line['line']).split(':')[1]));
  }
  for (const p of pids) seen.add(p);
  assert.deepEqual(pids.filter(live), pids, 'the escaped processes run');
  return pids;
}

// What a runner that failed to contain them would leave behind must not outlive the test file.
const seen = new Set<number>();
after(() => {
  for (const pid of seen) if (live(pid)) process.kill(pid, 'SIGKILL');
});

for (const v of VARIANTS) {
  describe(`runner containment: ${v.name}`, { skip: v.skip }, () => {
    it('a stop ends the processes that left the app\'s process group', async (t) => {
      const { runner, log, records } = rig(t, v);
      await runner.start(asAppUser(fixtureSpec('escapes.mjs')));
      const pid = runner.status().pid;
      assert.ok(pid !== null);
      const pids = await escapees(log, pid);
      const report = runner.containment();
      const record = records.at(-1)?.containment;
      if (report.mode === 'cgroup') {
        assert.ok(report.cgroup !== null);
        for (const p of [pid, ...pids]) assert.equal(cgroupOf(p), report.cgroup, `process ${p} is in the instance's cgroup`);
        assert.deepEqual(record, { mode: 'cgroup', cgroup: report.cgroup }, 'the record names the cgroup');
      } else {
        assert.deepEqual(record, { mode: 'uid-sweep', uid: users?.app.uid }, 'the record names the uid');
      }
      await runner.stop();
      assert.deepEqual(pids.filter(live), [], 'no escaped process outlives the stop');
      assert.equal(log.lines.find((l) => l['event'] === 'app-stopped')?.['forced'], true, 'they ignored SIGTERM');
      if (report.mode === 'cgroup' && report.cgroup !== null) assert.equal(existsSync(report.cgroup), false, 'the instance\'s cgroup is removed');
    });

    it('a crash restart ends what the crashed instance left before the next one starts', async (t) => {
      const { runner, log } = rig(t, v);
      const scheduled = nextEvent(runner, 'restart-scheduled');
      await runner.start(asAppUser(fixtureSpec('escapes.mjs', { EXIT_AFTER_MS: '1000' })));
      const pid = runner.status().pid;
      assert.ok(pid !== null);
      const pids = await escapees(log, pid);
      await scheduled;
      assert.deepEqual(pids.filter(live), [], 'the crashed instance\'s escaped processes are gone before the restart');
      const next = await nextEvent(runner, 'started');
      await escapees(log, next.pid);
    });
  });
}

describe('runner containment: cgroup specifics', { skip: CGROUP_SKIP }, () => {
  const v: Variant = { name: 'cgroup', mode: 'cgroup', skip: false };

  it('a child the app forks at its first instruction is already in the instance\'s cgroup (the held start)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'twinslot-hold-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'fork.sh'), '#!/bin/sh\nsetsid sleep 1000 </dev/null >/dev/null 2>&1 &\necho "child=$!"\nexec sleep 1000\n');
    chmodSync(join(dir, 'fork.sh'), 0o755);
    const { runner, log } = rig(t, v);
    for (let round = 1; round <= 5; round += 1) {
      await runner.start(asAppUser({ slotDir: dir, name: 'fork', version: `1.0.${round}`, entrypoint: { command: ['fork.sh'] }, env: {} }));
      const line = await log.waitFor((l) => l['version'] === `1.0.${round}` && String(l['line']).startsWith('child='));
      const child = Number(String(line['line']).slice('child='.length));
      seen.add(child);
      const report = runner.containment();
      assert.equal(report.mode === 'cgroup' ? cgroupOf(child) : null, report.mode === 'cgroup' ? report.cgroup : 'cgroup', `round ${round}: the first child is inside`);
      await runner.stop();
      assert.equal(live(child), false);
    }
  });

  it('an instance cgroup removed before the app joins it (another supervisor\'s clean-up) is made again', (t) => {
    const log = captureLog();
    const base = makeTestCgroup('adopt');
    t.after(() => base.remove());
    const containment = Containment.detect({ logger: log.logger, limits: { memoryMax: null, cpuWeight: null }, protectedUids: [], cgroupBase: base.dir });
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.after(() => sleeper.kill('SIGKILL'));
    assert.ok(sleeper.pid !== undefined);
    const opened = containment.open('a', null);
    assert.ok(opened.cgroup !== null);
    rmdirSync(opened.cgroup.dir);
    const box = containment.adopt(opened, sleeper.pid, 'a', null);
    assert.equal(box.record.mode, 'cgroup');
    assert.notEqual(box.cgroup?.dir, opened.cgroup.dir);
    assert.equal(cgroupOf(sleeper.pid), box.cgroup?.dir);
    assert.deepEqual(box.warnings, []);
  });

  it('a configured limit whose controller this machine lacks is a warning in the report, and the app still runs', async (t) => {
    const { runner } = rig(t, v, { memoryMax: 256 * 1024 ** 2, cpuWeight: 50 });
    const report = runner.containment();
    assert.equal(report.mode, 'cgroup');
    const controllers = report.mode === 'cgroup' ? readFileSync(join(report.root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/) : [];
    if (controllers.includes('memory') && controllers.includes('cpu')) {
      t.skip(`memory and cpu are available here (${controllers.join(' ')}): the next test checks the limits instead`);
      return;
    }
    assert.ok(report.warnings.some((w) => /app\.(memoryMax|cpuWeight) is not applied/.test(w)), JSON.stringify(report.warnings));
    await runner.start(fixtureSpec('healthy-http.mjs', { PORT: '0' }));
    assert.ok(runner.status().pid !== null);
  });

  it('memory.max and cpu.weight of the device config are set on the instance\'s cgroup', async (t) => {
    const probe = makeTestCgroup('limits-probe');
    const available = readFileSync(join(probe.dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    await probe.remove();
    if (!available.includes('memory') || !available.includes('cpu')) {
      t.skip(`the memory and cpu controllers are not available to a cgroup here (cgroup.controllers: ${available.join(' ') || 'none'}); test/unit/supervisor/cgroup.test.ts checks the writes on a stand-in tree`);
      return;
    }
    const { runner } = rig(t, v, { memoryMax: 256 * 1024 ** 2, cpuWeight: 50 });
    await runner.start(fixtureSpec('healthy-http.mjs', { PORT: '0' }));
    const report = runner.containment();
    assert.ok(report.mode === 'cgroup' && report.cgroup !== null);
    assert.equal(readFileSync(join(report.cgroup, 'memory.max'), 'utf8').trim(), String(256 * 1024 ** 2));
    assert.equal(readFileSync(join(report.cgroup, 'cpu.weight'), 'utf8').trim(), '50');
  });
});
