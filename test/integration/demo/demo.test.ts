// `twinslot demo` as a user runs it: a real child process through bin/twinslot.js, with the
// emulator, supervisor, agent, sample app and Mosquitto underneath. It must end with the
// expected outcomes and exit 0 — and on Ctrl-C (SIGINT) stop everything and remove its root.
// Nothing it started may survive either way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, watchDescendants, type Proc } from './procs.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'twinslot.js');
const DEADLINE_MS = 240_000;

interface Run {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
  kill(signal: NodeJS.Signals): void;
  seen(): Proc[];
}

function startDemo(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const watch = watchDescendants(child.pid ?? -1);
  let seen: Proc[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => {
    seen = watch.stop();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  void exited.then(() => clearTimeout(timer));
  return { stdout: () => out, stderr: () => err, exited, pid: child.pid ?? -1, kill: (s) => child.kill(s), seen: () => seen };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The processes seen under the demo that still exist after it exited (waits a moment for late exits). */
async function survivors(run: Run): Promise<Proc[]> {
  const deadline = Date.now() + 10_000;
  let left = run.seen().filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  for (const p of left) process.kill(p.pid, 'SIGKILL');
  return left;
}

test('twinslot demo --json: job 1 committed, job 2 rolled back, exit 0, nothing left running', { timeout: DEADLINE_MS + 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-demo-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = startDemo(['--json', '--dir', dir]);
  const { code } = await run.exited;
  assert.equal(code, 0, `${run.stdout()}\n${run.stderr()}`);
  const result = JSON.parse(run.stdout()) as { ok: boolean; kept: boolean; jobs: Array<Record<string, unknown>> };
  assert.equal(result.ok, true);
  const [job1, job2] = result.jobs;
  assert.deepEqual([job1?.['job'], job1?.['version'], job1?.['outcome'], job1?.['reason'], job1?.['answering']], ['job-1', '1.1.0', 'SUCCEEDED', 'COMMITTED', '1.1.0']);
  assert.deepEqual([job2?.['job'], job2?.['version'], job2?.['outcome'], job2?.['reason'], job2?.['answering']], ['job-2', '1.2.0', 'FAILED', 'HEALTH_CHECK_FAILED', '1.1.0']);
  assert.equal(typeof job2?.['rollbackMs'], 'number');
  assert.equal(job1?.['rollbackMs'], null);
  for (const job of [job1, job2]) assert.ok(Number(job?.['outages']) >= 1, 'a swap is seen by the prober');
  // The timeline went to stderr, with the phases the agent reported and the supervisor's verdicts.
  for (const text of ['downloading', 'installing', 'trial', 'probation', 'committed', 'rolled back']) assert.match(run.stderr(), new RegExp(text));
  const seen = run.seen();
  assert.ok(seen.some((p) => p.comm.includes('mosquitto')), `mosquitto was among the processes: ${JSON.stringify(seen)}`);
  assert.deepEqual(await survivors(run), []);
  assert.deepEqual(await readdir(dir), [], 'the temp root is removed');
});

test('twinslot demo: SIGINT mid-run stops every process it started and removes the temp root', { timeout: DEADLINE_MS + 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-demo-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = startDemo(['--dir', dir]);
  // Mid-run: the first update is in its trial, so emulator, supervisor, both apps' slots and the agent are all live.
  await until('job-1 trial', () => /job-1 +supervisor: trial of v1\.1\.0/.test(run.stdout()));
  assert.ok(run.stdout().length > 0);
  run.kill('SIGINT');
  const { code } = await run.exited;
  assert.equal(code, 130, `${run.stdout()}\n${run.stderr()}`);
  assert.match(run.stdout(), /SIGINT: stopping everything/);
  assert.ok(run.seen().length >= 4, `supervisor, agent, app and mosquitto were seen: ${JSON.stringify(run.seen())}`);
  assert.deepEqual(await survivors(run), []);
  assert.deepEqual(await readdir(dir), [], 'the temp root is removed');
});
