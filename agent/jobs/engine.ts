// The jobs engine: takes job executions from AWS IoT Jobs one at a time and runs each through
// the runner. At start, and whenever the Jobs streams come back on a fresh session, it asks
// describe `$next` (a look that changes nothing) and then start-next; a document that fails
// validation is REJECTED while still QUEUED, as AWS allows REJECTED only before a start.
//
// INVARIANTS
// - One execution runs at a time; open journal entries (from before a restart) run first.
// - An execution with a journal entry is never started again: duplicates are ignored.
// - A cancel or removal in the cloud interrupts the running execution only in a cancellable
//   phase (before activation); the runner then cleans up.

import { CodedError, messageOf } from '../../common/errors.ts';
import { fullJitter } from '../../common/backoff.ts';
import { parseJobDocument, type JobDocument } from './document.ts';
import { TERMINAL_REMOTE, type JobsApi, type RemoteExecution } from './jobs-api.ts';
import type { ExecutionKey, Journal, JournalEntry } from './journal.ts';
import { cancellable, type Phase } from './phases.ts';
import { Interrupt, runExecution, type RunnerDeps } from './runner.ts';
import type { AgentJobReport } from '../../ipc/protocol.ts';

/** What the status file shows of the running job. */
export type CurrentJob = AgentJobReport;

export interface EngineDeps extends Omit<RunnerDeps, 'onGone' | 'onProgress'> {
  jobs: JobsApi;
  journal: Journal;
}

/** Start once, stop once. */
export class JobsEngine {
  readonly #deps: EngineDeps;
  #stopping = new AbortController();
  #current: { key: ExecutionKey; controller: AbortController; entry: JournalEntry; progress: Record<string, string> } | undefined;
  #stopped = false;
  #wantLook = true;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #offs: Array<() => void> = [];
  #failures = 0;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
  }

  start(): void {
    const { jobs } = this.#deps;
    this.#offs.push(
      jobs.onResync(() => this.#look('resync')),
      jobs.onNextChanged((next) => this.#onNextChanged(next)),
      jobs.onPendingChanged((ids) => {
        if (this.#current && !ids.has(this.#current.key.jobId)) this.#verifyCurrent();
        else this.#look('notify');
      }),
    );
    this.#loop = this.#run();
  }

  /** Interrupts the running step (its phase stays for the next start) and waits for the loop. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const off of this.#offs) off();
    this.#offs = [];
    this.#stopping.abort(new Interrupt('stopping'));
    this.#current?.controller.abort(new Interrupt('stopping'));
    this.#wake?.();
    await this.#loop;
  }

  /** The execution being worked on, for status output. */
  current(): ExecutionKey | undefined {
    return this.#current?.key;
  }

  /** The running job for the status file: operation, persisted phase, latest progress. */
  job(): CurrentJob | null {
    const c = this.#current;
    if (c === undefined) return null;
    const { entry, progress } = c;
    return {
      jobId: entry.jobId, executionNumber: entry.executionNumber, operation: entry.document?.operation ?? null,
      phase: entry.phase.kind, since: new Date(entry.phaseSince).toISOString(),
      ...(progress['progress'] === undefined ? {} : { progress: Number(progress['progress']) }),
      ...(progress['bytes'] === undefined ? {} : { bytes: Number(progress['bytes']) }),
    };
  }

  /** True once stop() was called: no new work is taken. */
  get stopped(): boolean {
    return this.#stopped;
  }

  async #run(): Promise<void> {
    for (const entry of this.#deps.journal.open()) {
      if (this.#stopping.signal.aborted) return;
      // A throw here is the journal refusing a write (disk full, I/O error): the entry stays
      // open, and the next look finds it listed in the cloud and resumes it (#duplicate).
      await this.#execute(entry, true).catch(async (err: unknown) => this.#retryLater(err));
    }
    this.#deps.journal.prune();
    while (!this.#stopping.signal.aborted) {
      if (!this.#wantLook) await new Promise<void>((resolve) => (this.#wake = resolve));
      if (this.#stopping.signal.aborted) return;
      this.#wantLook = false;
      await this.#takeNext().catch(async (err: unknown) => this.#retryLater(err));
    }
  }

  async #takeNext(): Promise<void> {
    const { jobs, journal, ctx } = this.#deps;
    const peek = await jobs.describe('$next');
    if (peek === null) return;
    const existing = journal.get(peek);
    if (existing !== undefined) return this.#duplicate(existing, peek);
    const document = tryParse(peek.document);
    let remote = peek;
    if (!(document instanceof CodedError) && peek.status === 'QUEUED') {
      const started = await jobs.startNext(ctx.jobsConfig.stepTimeouts.checkMinutes);
      if (started === null) return;
      remote = started;
      if (journal.get(remote) !== undefined) return;
    }
    this.#failures = 0;
    await this.#execute(this.#newEntry(remote, document), false);
    this.#wantLook = true;
  }

  #newEntry(remote: RemoteExecution, document: JobDocument | CodedError): JournalEntry {
    const now = this.#deps.ctx.clock.now();
    const invalid = document instanceof CodedError;
    const phase: Phase = invalid
      ? {
          kind: 'reporting',
          // REJECTED is allowed only before the execution started; after that, FAILED.
          final: { status: remote.status === 'QUEUED' ? 'REJECTED' : 'FAILED', reason: 'DOCUMENT_INVALID', message: document.message, details: {} },
        }
      : { kind: 'received' };
    const entry: JournalEntry = {
      schema: 1, jobId: remote.jobId, executionNumber: remote.executionNumber, document: invalid ? null : document,
      phase, resumes: 0, receivedAt: now, updatedAt: now, phaseSince: now,
    };
    this.#deps.journal.save(entry);
    this.#deps.onSaved?.(entry);
    this.#deps.ctx.log.info({ event: 'job-received', jobId: entry.jobId, executionNumber: entry.executionNumber, operation: entry.document?.operation ?? null }, 'job received');
    return entry;
  }

  async #execute(entry: JournalEntry, resumed: boolean): Promise<void> {
    const controller = new AbortController();
    const onStop = (): void => controller.abort(new Interrupt('stopping'));
    this.#stopping.signal.addEventListener('abort', onStop, { once: true });
    const current = { key: { jobId: entry.jobId, executionNumber: entry.executionNumber }, controller, entry, progress: {} };
    this.#current = current;
    const track = {
      onSaved: (e: JournalEntry): void => {
        current.entry = e;
        current.progress = {};
        this.#deps.onSaved?.(e);
      },
      onProgress: (_e: JournalEntry, details: Record<string, string>): void => {
        current.progress = details;
      },
    };
    try {
      await runExecution({ ...this.#deps, ...track, onGone: () => this.#cancelCurrent('update refused: execution over') }, entry, resumed, controller.signal);
    } finally {
      this.#stopping.signal.removeEventListener('abort', onStop);
      this.#current = undefined;
    }
  }

  // An execution we already know. Open here while nothing runs: an earlier attempt threw out of
  // its step loop (a journal write refused), so it is resumed where its phase was saved. Closed,
  // but still pending in the cloud: its final report is sent again. Otherwise ignored.
  async #duplicate(existing: JournalEntry, remote: RemoteExecution): Promise<void> {
    if (existing.phase.kind !== 'closed') {
      this.#deps.ctx.log.warn({ event: 'job-resumed', jobId: remote.jobId, executionNumber: remote.executionNumber, phase: existing.phase.kind }, 'resuming an interrupted job');
      await this.#execute(existing, true);
      this.#wantLook = true;
      return;
    }
    this.#deps.ctx.log.info({ event: 'job-duplicate', jobId: remote.jobId, executionNumber: remote.executionNumber, phase: existing.phase.kind }, 'duplicate job notification ignored');
    if (existing.phase.kind === 'closed' && existing.phase.final !== null && !TERMINAL_REMOTE.has(remote.status)) {
      const again: JournalEntry = { ...existing, phase: { kind: 'reporting', final: existing.phase.final } };
      this.#deps.journal.save(again);
      await this.#execute(again, false);
    }
  }

  #onNextChanged(next: RemoteExecution | null): void {
    const current = this.#current?.key;
    if (current === undefined) return this.#look('notify-next');
    if (next === null || next.jobId !== current.jobId) this.#verifyCurrent();
  }

  // The head moved away from our execution: ask whether it still exists in the cloud.
  #verifyCurrent(): void {
    const key = this.#current?.key;
    if (key === undefined) return;
    this.#deps.jobs.describe(key.jobId, key.executionNumber).then(
      (remote) => {
        if (remote === null || TERMINAL_REMOTE.has(remote.status)) this.#cancelCurrent(`execution is ${remote?.status ?? 'gone'} in the cloud`);
      },
      (err: unknown) => this.#deps.ctx.log.warn({ event: 'job-verify-failed', err: messageOf(err) }, 'could not describe the running execution'),
    );
  }

  #cancelCurrent(why: string): void {
    const current = this.#current;
    if (current === undefined) return;
    const entry = this.#deps.journal.get(current.key);
    if (entry === undefined || !cancellable(entry.phase)) {
      this.#deps.ctx.log.info({ event: 'job-cancel-ignored', jobId: current.key.jobId, phase: entry?.phase.kind, why }, 'past activation: cancel ignored');
      return;
    }
    this.#deps.ctx.log.info({ event: 'job-canceled', jobId: current.key.jobId, phase: entry.phase.kind, why }, 'job canceled in the cloud; stopping local work');
    current.controller.abort(new Interrupt('canceled'));
  }

  #look(why: string): void {
    this.#deps.ctx.log.debug({ event: 'jobs-look', why }, 'looking for the next job');
    this.#wantLook = true;
    this.#wake?.();
  }

  async #retryLater(err: unknown): Promise<void> {
    const delay = fullJitter(this.#deps.ctx.jobsConfig.updateBackoff, this.#failures++);
    this.#deps.ctx.log.warn({ event: 'jobs-look-failed', err: messageOf(err), delayMs: delay }, 'asking for the next job failed');
    await this.#deps.ctx.clock.sleep(delay, this.#stopping.signal).catch(() => undefined);
    this.#wantLook = true;
  }
}

function tryParse(raw: unknown): JobDocument | CodedError {
  try {
    return parseJobDocument(raw);
  } catch (err) {
    if (err instanceof CodedError) return err;
    return new CodedError('DOCUMENT_INVALID', messageOf(err));
  }
}
