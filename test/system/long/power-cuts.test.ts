// Scenario 4: power cuts at random moments of updates. One device (release installed with
// install.sh, agent + supervisor in the VM, emulator on the host) takes install jobs, and each
// job is cut three times: once early (download or install), once around activation (slot flip or
// trial), once late (commit or report), each after a random delay within the phase, alternately
// as QMP system_reset and as QEMU killed and booted again from the same disks. After every cut
// the device boots on a committed version whose app runs and its state file parses; every job
// ends SUCCEEDED or FAILED (never stuck IN_PROGRESS, never TIMED_OUT).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestVm } from '../rig/harness.ts';
import { installDoc, startFleet, type Fleet } from '../rig/fleet.ts';
import { PhaseTail, WATCHER_EXTRAS, type PhaseSample } from '../rig/phase-watch.ts';
import { releasePayload } from '../rig/release.ts';
import type { Vm } from '../rig/vm.ts';
import { deviceVmOptions, installDevice, runningAppVersion, waitSettled } from '../guest/device-service.ts';

const CUTS = 20;
const PHASES = ['download', 'install', 'slot-flip', 'trial', 'commit', 'report'] as const;
type Phase = (typeof PHASES)[number];
// The phases one job passes through in order; a job is cut once in each group.
const GROUPS: Phase[][] = [['download', 'install'], ['slot-flip', 'trial'], ['commit', 'report']];
// Upper bound of the random delay after a phase is first seen: about its length in this rig.
const MAX_DELAY_MS: Record<Phase, number> = { download: 1500, install: 800, 'slot-flip': 150, trial: 2500, commit: 150, report: 100 };
const PAD_BYTES = 384 * 1024;
const FILES_BYTES_PER_SECOND = 192 * 1024;

interface Row { cut: number; job: string; target: Phase; seen: string; delayMs: number; kind: string; bootApp: string; final: string; bootS: number }

// What a sample says about where the update of `jobId` is, in the scenario's phase names.
function classify(s: PhaseSample | undefined, jobId: string, committedBefore: string): string {
  if (!s || s.job !== jobId) return 'boot';
  if (s.agent === 'downloading') return 'download';
  if (s.agent === 'installing') return 'install';
  if (s.agent === 'activating') return 'slot-flip';
  if (s.agent === 'trial' && s.supervisor === 'running') return 'trial';
  if (s.agent === 'trial' && s.supervisor === 'idle' && s.committed !== committedBefore) return 'commit';
  if (s.agent === 'reporting') return 'report';
  return s.agent === 'received' ? 'check' : s.agent;
}

// The phase of `group` where the fewest cuts landed so far.
function leastCovered(group: Phase[], rows: Row[]): Phase {
  const count = (p: Phase): number => rows.filter((r) => r.seen === p).length;
  return [...group].sort((x, y) => count(x) - count(y))[0] ?? 'download';
}

// Waits until a sample shows `jobId` in `target` (true), or the job is over (false).
async function reachPhase(tail: PhaseTail, fleet: Fleet, jobId: string, target: Phase, committedBefore: string): Promise<boolean> {
  let next = Math.max(0, tail.samples.items.length - 1);
  const deadline = Date.now() + 300_000;
  for (;;) {
    for (; next < tail.samples.items.length; next++) {
      if (classify(tail.samples.items[next], jobId, committedBefore) === target) return true;
    }
    const e = fleet.execution(jobId);
    if (e && e.status !== 'QUEUED' && e.status !== 'IN_PROGRESS') return false;
    if (Date.now() > deadline) throw new Error(`${jobId} never reached ${target}; last sample ${JSON.stringify(tail.last)}`);
    await sleep(25);
  }
}

// The power cut, then the boot: the device comes back with a parsable state file and an app.
async function cutAndBoot(vm: Vm, kind: 'reset' | 'kill'): Promise<{ bootS: number; app: string }> {
  const boots = vm.boots.length;
  const at = Date.now();
  if (kind === 'reset') {
    await vm.reset();
    await vm.waitBoot(boots);
  } else {
    await vm.kill();
    await vm.start();
  }
  const bootS = (Date.now() - at) / 1000;
  await vm.sh(`i=0; until grep -qsa APP_VERSION= /proc/[0-9]*/environ; do i=$((i + 1)); [ $i -gt 600 ] && exit 1; sleep 0.2; done`, 200_000);
  const state = JSON.parse((await vm.readFile('/var/lib/twinslot/state.json')).toString()) as { committed: string | null };
  assert.ok(state.committed === 'a' || state.committed === 'b', `committed slot after the cut: ${state.committed}`);
  return { bootS, app: await runningAppVersion(vm) };
}

// Longer than the suite's per-file default: 20 boots under TCG on a shared 2-core machine.
test(`power cuts: ${CUTS} hard resets and QEMU kills across update phases, never bricked or stuck`, { timeout: 2_400_000 }, async (t) => {
  const started = Date.now();
  const fleet = await startFleet(t, { filesBytesPerSecond: FILES_BYTES_PER_SECOND });
  const initial = await fleet.bundle('1.0.0');
  const vm = await startTestVm(t, await deviceVmOptions(fleet, await releasePayload(), initial.file, WATCHER_EXTRAS));
  await installDevice(vm, fleet);
  const tail = new PhaseTail(vm.setup.consoleLog);
  await tail.start();
  t.after(() => tail.stop());
  let settled = await waitSettled(vm);
  const rows: Row[] = [];

  for (let n = 1; rows.length < CUTS; n++) {
    const version = `1.${n}.0`;
    const jobId = `cut-job-${n}`;
    const committedBefore = settled.state.committed ?? '-';
    const versionBefore = settled.status.app?.version ?? '';
    const bundle = await fleet.bundle(version, 'good', PAD_BYTES);
    fleet.createJob(jobId, installDoc(bundle), 10);
    const jobRows: Row[] = [];
    for (const group of GROUPS) {
      if (rows.length >= CUTS) break;
      const target = leastCovered(group, rows);
      // The first sample in the target phase; a job that ends first is not cut again.
      if (!(await reachPhase(tail, fleet, jobId, target, committedBefore))) break;
      const delayMs = Math.round(Math.random() * MAX_DELAY_MS[target]);
      await sleep(delayMs);
      const seen = classify(tail.last, jobId, committedBefore);
      const kind = rows.length % 2 === 0 ? 'reset' : 'kill';
      const { bootS, app } = await cutAndBoot(vm, kind);
      const row: Row = { cut: rows.length + 1, job: jobId, target, seen, delayMs, kind, bootApp: app, final: '', bootS };
      rows.push(row);
      jobRows.push(row);
    }

    const final = await fleet.final(jobId);
    settled = await waitSettled(vm);
    const running = await runningAppVersion(vm);
    for (const r of jobRows) {
      r.final = `${final.status} ${final.details['reason'] ?? ''} → ${running}`;
      t.diagnostic(JSON.stringify(r));
    }
    assert.ok(final.status === 'SUCCEEDED' || final.status === 'FAILED', `${jobId} ended ${final.status}: ${JSON.stringify(final.details)}`);
    assert.equal(settled.state.trial, null);
    assert.equal(settled.status.app?.slot, settled.status.committed);
    assert.equal(running, settled.status.app.version, 'the app process runs the committed version');
    assert.equal(settled.status.slots[settled.status.committed ?? 'a'].status, 'ready');
    assert.equal(running, final.status === 'SUCCEEDED' ? version : versionBefore);
  }

  const table = ['cut | job        | target    | seen at cut | delay ms | power cut | app after boot | boot s | job final → running',
    ...rows.map((r) => `${String(r.cut).padStart(3)} | ${r.job.padEnd(10)} | ${r.target.padEnd(9)} | ${r.seen.padEnd(11)} | ${String(r.delayMs).padStart(8)} | ${r.kind.padEnd(9)} | ${r.bootApp.padEnd(14)} | ${r.bootS.toFixed(1).padStart(6)} | ${r.final}`)].join('\n');
  process.stdout.write(`\n${table}\n`);
  t.diagnostic(`${rows.length} cuts in ${((Date.now() - started) / 1000).toFixed(0)} s (install included)`);
  for (const p of PHASES) t.diagnostic(`${p}: ${rows.filter((r) => r.seen === p).length} cuts`);
  const covered = new Set(rows.map((r) => r.seen));
  assert.ok(covered.size >= 5, `cuts landed in too few phases: ${[...covered].join(', ')}`);
});
