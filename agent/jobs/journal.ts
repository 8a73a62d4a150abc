// The job journal: one durable file per job execution (jobId + executionNumber) under the
// agent's state dir, holding the parsed document and the machine's phase.
//
// INVARIANTS
// - Every save is atomic and durable (temp file, fsync, rename, fsync dir): after a crash an
//   entry is either its old or its new version.
// - An execution that has an entry is never started again from scratch: duplicates of a
//   notification find the entry and are ignored; a closed entry is kept (up to `keepClosed`
//   of them) precisely so that late duplicates still find it.
// - A damaged file (not JSON, truncated, wrong shape) never stops the agent: it is renamed to
//   `<name>.corrupt-<epoch ms>` and logged (`journal-quarantined`); the execution it described is
//   found again through describe `$next`, and the supervisor's slot state keeps it from being
//   installed twice.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTempsSync, writeFileAtomicSync } from '../../common/durable-file.ts';
import { CodedError, isErrno, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { JobDocument } from './document.ts';
import { PHASE_KINDS, type Phase } from './phases.ts';

export interface ExecutionKey {
  jobId: string;
  executionNumber: number;
}

export interface JournalEntry extends ExecutionKey {
  schema: 1;
  /** null when the document was invalid (the entry then starts in `reporting`). */
  document: JobDocument | null;
  phase: Phase;
  /** Restarts that found the entry in its current phase (loop guard). */
  resumes: number;
  receivedAt: number;
  updatedAt: number;
  /** Time the current phase was entered (durations in the final report). */
  phaseSince: number;
}

const JOB_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** File-backed journal; one instance per agent. */
export class Journal {
  readonly dir: string;
  readonly #keepClosed: number;
  readonly #log: Logger | undefined;

  constructor(dir: string, keepClosed = 100, log?: Logger) {
    this.dir = dir;
    this.#keepClosed = keepClosed;
    this.#log = log;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // One agent per device: nothing else writes here, so a temp file now is a power cut's leftover.
    const stale = removeStaleTempsSync(dir);
    if (stale.length > 0) log?.warn({ event: 'journal-temps-removed', files: stale }, 'removed entries an interrupted write left behind');
  }

  /** The entry of one execution, or undefined (also when its file was damaged and quarantined). */
  get(key: ExecutionKey): JournalEntry | undefined {
    return this.#read(this.#file(key));
  }

  /** Durably replaces the entry. */
  save(entry: JournalEntry): void {
    writeFileAtomicSync(this.#file(entry), `${JSON.stringify(entry)}\n`, 0o600);
  }

  /** Every entry, oldest received first. */
  all(): JournalEntry[] {
    const entries: JournalEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const entry = this.#read(join(this.dir, name));
      if (entry !== undefined) entries.push(entry);
    }
    return entries.sort((x, y) => x.receivedAt - y.receivedAt || x.executionNumber - y.executionNumber);
  }

  /** Entries not yet closed (normally at most one). */
  open(): JournalEntry[] {
    return this.all().filter((e) => e.phase.kind !== 'closed');
  }

  /** Removes the oldest closed entries beyond the kept number. */
  prune(): void {
    const closed = this.all().filter((e) => e.phase.kind === 'closed');
    for (const entry of closed.slice(0, Math.max(0, closed.length - this.#keepClosed))) rmSync(this.#file(entry), { force: true });
  }

  // undefined for a missing file and for a damaged one, which is moved aside first.
  #read(file: string): JournalEntry | undefined {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    try {
      return parseEntry(text);
    } catch (err) {
      const to = `${file}.corrupt-${Date.now()}`;
      renameSync(file, to);
      this.#log?.error({ event: 'journal-quarantined', file, to, err: messageOf(err) }, 'damaged journal entry moved aside; the job is found again in the cloud');
      return undefined;
    }
  }

  #file(key: ExecutionKey): string {
    if (!JOB_ID.test(key.jobId) || !Number.isInteger(key.executionNumber) || key.executionNumber < 0) {
      throw new CodedError('JOURNAL_KEY_INVALID', `invalid job execution ${key.jobId}#${key.executionNumber}`);
    }
    return join(this.dir, `${key.jobId}.${key.executionNumber}.json`);
  }
}

function parseEntry(text: string): JournalEntry {
  const value = JSON.parse(text) as Partial<JournalEntry> | null;
  const ok = typeof value === 'object' && value !== null && value.schema === 1 && typeof value.jobId === 'string' && JOB_ID.test(value.jobId)
    && Number.isInteger(value.executionNumber) && typeof value.phase === 'object' && value.phase !== null
    && (PHASE_KINDS as readonly string[]).includes(value.phase.kind) && typeof value.document === 'object'
    && [value.resumes, value.receivedAt, value.updatedAt, value.phaseSince].every((n) => typeof n === 'number');
  if (!ok) throw new CodedError('JOURNAL_INVALID', 'journal entry has an unknown shape');
  return value as JournalEntry;
}
