// A journal write that throws inside a job's step loop (disk full, EIO, or the EEXIST of a temp
// name a power cut left behind) neither kills the agent nor strands the job: the engine logs,
// looks again, finds the execution still pending in the cloud and resumes it from its saved phase.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../../common/clock.ts';
import type { Logger } from '../../../../common/log.ts';
import { parseJobsSections } from '../../../../agent/jobs/config.ts';
import { JobsEngine } from '../../../../agent/jobs/engine.ts';
import { JobsRejected, TERMINAL_REMOTE, type JobsApi, type RemoteExecution, type UpdateRequest } from '../../../../agent/jobs/jobs-api.ts';
import { Journal, type JournalEntry } from '../../../../agent/jobs/journal.ts';
import type { StatusReport, SupervisorPort } from '../../../../agent/update/supervisor-port.ts';
import { devicePaths } from '../../../../slots/paths.ts';

const DEADLINE_MS = 60_000;
type Line = Record<string, unknown>;

// Log lines as events: a test waits for the line it expects, with a generous deadline.
class Events {
  readonly lines: Line[] = [];
  #waiters: Array<() => void> = [];

  push(line: Line): void {
    this.lines.push(line);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async first(events: readonly string[]): Promise<Line> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const hit = this.lines.find((l) => events.includes(String(l['event'])));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`none of ${events.join(', ')} logged; saw ${this.lines.map((l) => String(l['event'])).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 1_000).unref();
      });
    }
  }

  // Only the levels the engine, runner and reporter use.
  logger(): Logger {
    const at = (level: string) => (line: Line): void => this.push({ level, ...line });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  }
}

// AWS IoT Jobs for one thing, in memory: $next is the oldest pending execution (IN_PROGRESS
// before QUEUED) until a terminal update; an update after that is refused as AWS refuses it.
class FakeJobs implements JobsApi {
  readonly executions: RemoteExecution[] = [];
  readonly updates: UpdateRequest[] = [];

  startNext(): Promise<RemoteExecution | null> {
    const next = this.executions.find((e) => e.status === 'QUEUED');
    if (next !== undefined) next.status = 'IN_PROGRESS';
    return Promise.resolve(next === undefined ? null : { ...next });
  }

  describe(jobId: string, executionNumber?: number): Promise<RemoteExecution | null> {
    const pending = this.executions.filter((e) => !TERMINAL_REMOTE.has(e.status));
    const found = jobId === '$next'
      ? (pending.find((e) => e.status === 'IN_PROGRESS') ?? pending[0])
      : this.executions.find((e) => e.jobId === jobId && (executionNumber === undefined || e.executionNumber === executionNumber));
    return Promise.resolve(found === undefined ? null : { ...found });
  }

  update(request: UpdateRequest): Promise<void> {
    const e = this.executions.find((x) => x.jobId === request.jobId && x.executionNumber === request.executionNumber);
    if (e === undefined) return Promise.reject(new JobsRejected('ResourceNotFound', 'no such execution'));
    if (TERMINAL_REMOTE.has(e.status)) return Promise.reject(new JobsRejected('TerminalStateReached', `execution is ${e.status}`));
    this.updates.push(request);
    e.status = request.status;
    e.versionNumber += 1;
    return Promise.resolve();
  }

  // Notifications are not needed: the engine looks at start and after each failure.
  onNextChanged(): () => void {
    return () => undefined;
  }

  onPendingChanged(): () => void {
    return () => undefined;
  }

  onResync(): () => void {
    return () => undefined;
  }
}

// A journal whose save() refuses once, at the first entry `when` picks (EEXIST, as after the cut).
class RefusingJournal extends Journal {
  readonly #when: (entry: JournalEntry) => boolean;
  refused: JournalEntry | undefined;

  constructor(dir: string, when: (entry: JournalEntry) => boolean) {
    super(dir);
    this.#when = when;
  }

  override save(entry: JournalEntry): void {
    if (this.refused === undefined && this.#when(entry)) {
      this.refused = entry;
      throw Object.assign(new Error(`EEXIST: file already exists, open '${this.dir}/.x.tmp-168-3'`), { code: 'EEXIST' });
    }
    super.save(entry);
  }
}

// Backoff sleeps return at once (still ending on abort, as the real clock does).
const instantClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (_ms, signal) => (signal?.aborted === true ? Promise.reject(new Error('aborted')) : Promise.resolve()),
};

const STATUS: StatusReport = {
  running: true, pid: 42, bootId: 'boot-1', current: 'a', committed: 'a', previous: null, trial: null, lastOutcome: null,
  slots: { a: { status: 'ready', version: '1.0.0', manifestSha256: '', path: '/slots/a' }, b: { status: 'empty', path: '/slots/b' } },
  stateSource: 'state', app: null, watchdog: null, counters: null, powerFail: false,
};

interface Rig {
  engine: JobsEngine;
  jobs: FakeJobs;
  journal: RefusingJournal;
  events: Events;
  unhandled: unknown[];
}

async function rig(t: TestContext, when: (entry: JournalEntry) => boolean, seed?: (journal: Journal) => void): Promise<Rig> {
  const root = await mkdtemp(join(tmpdir(), 'twinslot-engine-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const paths = devicePaths(root);
  const dir = join(paths.agentDir, 'jobs');
  if (seed !== undefined) seed(new Journal(dir));
  const journal = new RefusingJournal(dir, when);
  const jobs = new FakeJobs();
  const events = new Events();
  const log = events.logger();
  const sections = parseJobsSections({ device: { thingName: 't', deviceType: 'test-device' } });
  const jobsConfig = { ...sections.jobs, updateBackoff: { baseMs: 1, maxMs: 5 } };
  // Only status() is on the paths driven here (the report operation); the rest would be a bug.
  const supervisor = { status: () => Promise.resolve(STATUS) } as unknown as SupervisorPort;
  const engine = new JobsEngine({
    journal, jobs, reporter: { jobs, clock: instantClock, log, backoff: jobsConfig.updateBackoff },
    ctx: {
      paths, deviceType: 'test-device', jobsConfig, update: sections.update, ca: undefined, supervisor, jobs, clock: instantClock, log,
      loadTrust: () => Promise.reject(new Error('not used by report jobs')),
      bootId: () => Promise.resolve('boot-1'),
    },
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
    events.push({ event: 'unhandled-rejection', err: String(reason) });
  };
  process.on('unhandledRejection', onUnhandled);
  t.after(async () => {
    await engine.stop().catch(() => undefined);
    process.off('unhandledRejection', onUnhandled);
  });
  return { engine, jobs, journal, events, unhandled };
}

function execution(jobId: string, status: 'QUEUED' | 'IN_PROGRESS'): RemoteExecution {
  return { jobId, executionNumber: 1, status, versionNumber: 1, document: { twinslot: 1, operation: 'report' }, statusDetails: {} };
}

async function closedEntry(r: Rig, jobId: string): Promise<JournalEntry> {
  await r.events.first(['job-final']);
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const entry = r.journal.get({ jobId, executionNumber: 1 });
    if (entry?.phase.kind === 'closed') return entry;
    assert.ok(Date.now() < deadline, `entry still ${entry?.phase.kind ?? 'missing'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a refused save inside a new job is logged, the job is found again and resumed to its report', async (t) => {
  const r = await rig(t, (e) => e.phase.kind === 'reporting');
  r.jobs.executions.push(execution('report-1', 'QUEUED'));
  r.engine.start();
  const outcome = await r.events.first(['job-resumed', 'job-duplicate', 'unhandled-rejection']);
  assert.equal(outcome['event'], 'job-resumed', 'the open entry is resumed, not ignored as a duplicate');
  assert.equal(outcome['phase'], 'received', 'resumed from the phase saved before the refused write');
  assert.equal(r.journal.refused?.phase.kind, 'reporting');
  assert.ok(r.events.lines.some((l) => l['event'] === 'jobs-look-failed' && String(l['err']).includes('EEXIST')));
  const entry = await closedEntry(r, 'report-1');
  assert.deepEqual(entry.phase.kind === 'closed' && [entry.phase.why, entry.phase.final?.status], ['reported', 'SUCCEEDED']);
  const finals = r.jobs.updates.filter((u) => u.status !== 'IN_PROGRESS');
  assert.deepEqual(finals.map((u) => [u.jobId, u.status, u.statusDetails['reason']]), [['report-1', 'SUCCEEDED', 'REPORTED']]);
  assert.equal(r.jobs.executions[0]?.status, 'SUCCEEDED');
  assert.deepEqual(r.unhandled, []);
});

test('a refused save while resuming the journal at start is logged, and the job still finishes', async (t) => {
  const now = Date.now();
  const open: JournalEntry = {
    schema: 1, jobId: 'report-2', executionNumber: 1, document: { operation: 'report' }, resumes: 0, receivedAt: now, updatedAt: now, phaseSince: now,
    phase: { kind: 'reporting', final: { status: 'SUCCEEDED', reason: 'REPORTED', message: 'device report', details: { deviceType: 'test-device' } } },
  };
  const r = await rig(t, () => true, (journal) => journal.save(open));
  r.jobs.executions.push(execution('report-2', 'IN_PROGRESS'));
  r.engine.start();
  const outcome = await r.events.first(['job-resumed', 'job-duplicate', 'unhandled-rejection']);
  assert.equal(outcome['event'], 'job-resumed', 'the start-up loop survives the refused save and the next look resumes the entry');
  assert.equal(outcome['phase'], 'reporting');
  assert.equal(r.journal.refused?.resumes, 1, 'the refused save was the start-up resume count');
  const entry = await closedEntry(r, 'report-2');
  assert.deepEqual(entry.phase.kind === 'closed' && [entry.phase.why, entry.phase.final?.status], ['reported', 'SUCCEEDED']);
  assert.deepEqual(r.jobs.updates.map((u) => [u.status, u.statusDetails['reason']]), [['SUCCEEDED', 'REPORTED']]);
  await r.engine.stop();
  assert.deepEqual(r.unhandled, []);
});
