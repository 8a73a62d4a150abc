// The durable home of the slot state: state.json, a last-good copy beside it, and the `current`
// symlink. Reading never throws: a damaged file is reported and recovered.
//
// INVARIANTS
// - state.json and its copy are each replaced atomically and durably (temp, fsync, rename, fsync dir),
//   state.json first, so at any instant at least one of them holds the newest or the one-before state.
// - `current` is replaced with rename(2) over a fresh symlink; it never disappears while a slot is committed.
// - The caller orders writes so that `current` always names the committed or the trial slot of the
//   persisted state: persist the trial before flipping to it; flip back before clearing the trial.

import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { DEFAULT_LIMITS } from '../bundle/limits.ts';
import { basename, dirname, join } from 'node:path';
import { isErrno, messageOf } from '../common/errors.ts';
import { fsyncDirSync, removeStaleTempsSync, replaceSymlinkSync, writeFileAtomicSync } from '../common/durable-file.ts';
import type { Logger } from '../common/log.ts';
import type { DevicePaths, SlotName } from './paths.ts';
import { initialState, parseState, type SystemState } from './state.ts';

const MAX_MANIFEST_BYTES = DEFAULT_LIMITS.maxManifestBytes;

export type LoadSource = 'state' | 'backup' | 'default';

export interface Loaded {
  state: SystemState;
  source: LoadSource;
  /** Why state.json was not used as is. */
  problem?: string;
}

/** Reads and writes the slot state under `paths`. */
export class SlotStore {
  readonly paths: DevicePaths;
  readonly #logger: Logger;

  constructor(paths: DevicePaths, logger: Logger) {
    this.paths = paths;
    this.#logger = logger;
  }

  /**
   * Removes what an interrupted write of the state (power cut between create and rename) left
   * beside it. Only the supervisor calls it, at its start: it alone writes the state.
   */
  removeInterruptedWrites(): void {
    const stale = removeStaleTempsSync(dirname(this.paths.state));
    if (stale.length > 0) this.#logger.warn({ event: 'state-temps-removed', files: stale }, 'removed state copies an interrupted write left behind');
  }

  /** The persisted state, recovered from the copy or derived from `current` when state.json is damaged. */
  load(): Loaded {
    const primary = this.#tryRead(this.paths.state);
    if (primary.state) return { state: primary.state, source: 'state' };
    if (primary.problem === 'missing') {
      const fresh = this.#tryRead(this.paths.stateBackup);
      if (fresh.state) return { state: fresh.state, source: 'backup', problem: 'state.json missing' };
      return { state: this.#defaultState(), source: 'default' };
    }
    const backup = this.#tryRead(this.paths.stateBackup);
    if (backup.state) {
      this.#logger.warn({ event: 'state-recovered', from: 'backup', problem: primary.problem }, 'state.json damaged; using its last good copy');
      return { state: backup.state, source: 'backup', problem: primary.problem ?? 'unknown' };
    }
    const state = this.#defaultState();
    this.#logger.error({ event: 'state-recovered', from: 'default', problem: primary.problem, committed: state.committed }, 'state.json and its copy damaged; keeping the slot `current` points at');
    return { state, source: 'default', problem: primary.problem ?? 'unknown' };
  }

  /** Persists `state` (with the next sequence number) and returns what was written. */
  save(state: SystemState): SystemState {
    const next: SystemState = { ...state, seq: state.seq + 1 };
    const text = `${JSON.stringify(next, null, 2)}\n`;
    writeFileAtomicSync(this.paths.state, text, 0o644);
    writeFileAtomicSync(this.paths.stateBackup, text, 0o644);
    return next;
  }

  /** The slot `current` points at, or null when it is missing or points elsewhere. */
  readCurrent(): SlotName | null {
    try {
      const name = basename(readlinkSync(this.paths.current));
      return name === 'a' || name === 'b' ? name : null;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EINVAL')) return null;
      throw err;
    }
  }

  /** Points `current` at `slot` with one rename(2). */
  flipCurrent(slot: SlotName): void {
    replaceSymlinkSync(join('slots', slot), this.paths.current);
  }

  /** Removes `current` (no committed slot to run). */
  clearCurrent(): void {
    rmSync(this.paths.current, { force: true });
    fsyncDirSync(this.paths.libDir);
  }

  #tryRead(file: string): { state?: SystemState; problem?: string } {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { problem: isErrno(err, 'ENOENT') ? 'missing' : messageOf(err) };
    }
    try {
      return { state: parseState(text) };
    } catch (err) {
      return { problem: text.length === 0 ? 'empty file' : messageOf(err) };
    }
  }

  // Safe default: whatever `current` names stays committed, so a damaged file never stops the app.
  #defaultState(): SystemState {
    let committed: SlotName | null = null;
    try {
      committed = this.readCurrent();
    } catch (err) {
      this.#logger.error({ event: 'current-unreadable', err: messageOf(err) }, 'cannot read current');
    }
    const state = initialState(committed);
    if (committed) {
      const version = readManifestVersion(join(this.paths.slot(committed), 'manifest.json'));
      if (version) state.slots[committed] = { status: 'ready', version, manifestSha256: '' };
    }
    return state;
  }
}

// Never through a symlink, never blocking on a FIFO, never more than a manifest's worth: the
// supervisor may read this as root from a slot an older installer left to the agent.
function readManifestVersion(file: string): string | null {
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > MAX_MANIFEST_BYTES) return null;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const raw: unknown = JSON.parse(text);
    if (typeof raw === 'object' && raw !== null && 'version' in raw && typeof raw.version === 'string') return raw.version;
  } catch {
    // no readable manifest: the version stays unknown
  }
  return null;
}
