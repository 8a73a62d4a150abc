// Scenario 4: power cuts at random moments of updates. The device takes install jobs, and each
// job is cut up to three times: once early (download or install), once around activation (slot
// flip or trial), once late (commit or report), each after a random delay within the phase, as
// QMP system_reset or as QEMU killed and booted again from the same disks (balanced per phase).
// After every cut the device boots on a committed version whose app runs and its state file
// parses; every job ends SUCCEEDED or FAILED (never stuck IN_PROGRESS, never TIMED_OUT).

import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { installDoc, type Fleet } from './fleet.ts';
import type { PhaseSample, PhaseTail } from './phase-watch.ts';
import type { Device } from './shared-device.ts';
import type { Vm } from './vm.ts';
import { runningAppVersion, waitSettled } from '../guest/device-service.ts';

const PHASES = ['download', 'install', 'slot-flip', 'trial', 'commit', 'report'] as const;
type Phase = (typeof PHASES)[number];
// The phases one job passes through in order; a job is cut once in each group.
const GROUPS: Phase[][] = [['download', 'install'], ['slot-flip', 'trial'], ['commit', 'report']];
// Upper bound of the random delay after a phase is first seen: about its length in this rig.
const MAX_DELAY_MS: Record<Phase, number> = { download: 1500, install: 800, 'slot-flip': 150, trial: 2500, commit: 150, report: 100 };
// About 2 s of download at the device's file rate (shared-device.ts).
const PAD_BYTES = 384 * 1024;

interface Row { cut: number; job: string; target: Phase; seen: string; delayMs: number; kind: CutKind; bootApp: string; final: string; bootS: number; appS: number }

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
async function cutAndBoot(vm: Vm, kind: CutKind): Promise<{ bootS: number; appS: number; app: string }> {
  const boots = vm.boots.length;
  const at = Date.now();
  if (kind === 'reset') {
    await vm.reset();
    await vm.waitBoot(boots);
  } else {
    await vm.kill();
    await vm.start();
  }
  const booted = Date.now();
  await vm.sh(`i=0; until grep -qsa APP_VERSION= /proc/[0-9]*/environ; do i=$((i + 1)); [ $i -gt 600 ] && exit 1; sleep 0.2; done`, 200_000);
  const appS = (Date.now() - booted) / 1000;
  const state = JSON.parse((await vm.readFile('/var/lib/twinslot/state.json')).toString()) as { committed: string | null };
  assert.ok(state.committed === 'a' || state.committed === 'b', `committed slot after the cut: ${state.committed}`);
  return { bootS: (booted - at) / 1000, appS, app: await runningAppVersion(vm) };
}

type CutKind = 'reset' | 'kill';

// The kind of cut used least so far at `target`: both kinds reach every phase.
function nextKind(target: Phase, rows: Row[]): CutKind {
  const count = (k: CutKind): number => rows.filter((r) => r.target === target && r.kind === k).length;
  return count('reset') <= count('kill') ? 'reset' : 'kill';
}

/** Cuts the power of `d` `cuts` times across install jobs; prints the table of cuts and outcomes. */
export async function runPowerCuts(d: Device, t: TestContext, cuts: number): Promise<void> {
  const { fleet, vm, tail } = d;
  const started = Date.now();
  let settled = await waitSettled(vm);
  const rows: Row[] = [];

  for (let n = 1; rows.length < cuts; n++) {
    const version = `4.${n}.0`;
    const jobId = `cut-job-${n}`;
    const committedBefore = settled.state.committed ?? '-';
    const versionBefore = settled.status.app?.version ?? '';
    const bundle = await fleet.bundle(version, 'good', PAD_BYTES);
    fleet.createJob(jobId, installDoc(bundle), 10);
    const jobAt = Date.now();
    const jobRows: Row[] = [];
    for (const group of GROUPS) {
      if (rows.length >= cuts) break;
      const target = leastCovered(group, rows);
      // The first sample in the target phase; a job that ends first is not cut again.
      if (!(await reachPhase(tail, fleet, jobId, target, committedBefore))) break;
      const delayMs = Math.round(Math.random() * MAX_DELAY_MS[target]);
      await sleep(delayMs);
      const seen = classify(tail.last, jobId, committedBefore);
      const kind = nextKind(target, rows);
      const { bootS, appS, app } = await cutAndBoot(vm, kind);
      const row: Row = { cut: rows.length + 1, job: jobId, target, seen, delayMs, kind, bootApp: app, final: '', bootS, appS };
      rows.push(row);
      jobRows.push(row);
    }

    const final = await fleet.final(jobId);
    settled = await waitSettled(vm);
    const running = await runningAppVersion(vm);
    t.diagnostic(`${jobId}: ${jobRows.length} cuts, ${final.status} after ${((Date.now() - jobAt) / 1000).toFixed(0)} s`);
    for (const r of jobRows) r.final = `${final.status} ${final.details['reason'] ?? ''} → ${running}`;
    assert.ok(final.status === 'SUCCEEDED' || final.status === 'FAILED', `${jobId} ended ${final.status}: ${JSON.stringify(final.details)}`);
    assert.equal(settled.state.trial, null);
    assert.equal(settled.status.app?.slot, settled.status.committed);
    assert.equal(running, settled.status.app.version, 'the app process runs the committed version');
    assert.equal(settled.status.slots[settled.status.committed ?? 'a'].status, 'ready');
    assert.equal(running, final.status === 'SUCCEEDED' ? version : versionBefore);
  }

  const table = ['cut | job        | target    | seen at cut | delay ms | power cut | boot s | app s | app after boot | job final → running',
    ...rows.map((r) => `${String(r.cut).padStart(3)} | ${r.job.padEnd(10)} | ${r.target.padEnd(9)} | ${r.seen.padEnd(11)} | ${String(r.delayMs).padStart(8)} | ${r.kind.padEnd(9)} | ${r.bootS.toFixed(1).padStart(6)} | ${r.appS.toFixed(1).padStart(5)} | ${r.bootApp.padEnd(14)} | ${r.final}`)].join('\n');
  process.stdout.write(`\n${table}\n`);
  t.diagnostic(`${rows.length} cuts in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const p of PHASES) t.diagnostic(`${p}: ${rows.filter((r) => r.seen === p).length} cuts`);
  const covered = new Set(rows.map((r) => r.seen));
  assert.ok(covered.size >= 5, `cuts landed in too few phases: ${[...covered].join(', ')}`);
}
