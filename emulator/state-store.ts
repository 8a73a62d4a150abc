// The jobs state on disk (`<dir>/jobs-state.json`), replaced atomically. Saves are coalesced:
// a burst of changes costs one write of the latest state, and flush() waits for it.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/durable-file.ts';
import { isErrno, CodedError } from '../common/errors.ts';
import { emptyState, type JobsState } from './jobs/model.ts';

export interface StateStore {
  save(state: JobsState): void;
  flush(): Promise<void>;
}

/** Reads the saved state, or an empty one the first time. */
export async function loadState(dir: string): Promise<JobsState> {
  try {
    const saved = JSON.parse(await readFile(join(dir, 'jobs-state.json'), 'utf8')) as Partial<JobsState>;
    if (typeof saved.jobs !== 'object' || !Array.isArray(saved.executions) || typeof saved.nextSeq !== 'number') {
      throw new CodedError('EMULATOR_STATE_INVALID', `${join(dir, 'jobs-state.json')} is not an emulator state`);
    }
    return { jobs: saved.jobs ?? {}, executions: saved.executions, nextSeq: saved.nextSeq, throttle: {} };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return emptyState();
    throw err;
  }
}

/** A store writing to `<dir>/jobs-state.json`; `onError` hears failed writes. */
export function fileStateStore(dir: string, onError: (err: unknown) => void): StateStore {
  let latest: JobsState | undefined;
  let writing: Promise<void> = Promise.resolve();
  let busy = false;
  const drain = async (): Promise<void> => {
    busy = true;
    while (latest) {
      const { throttle: _t, ...state } = latest;
      latest = undefined;
      try {
        await writeFileAtomic(join(dir, 'jobs-state.json'), JSON.stringify(state));
      } catch (err) {
        onError(err);
      }
    }
    busy = false;
  };
  return {
    save(state) {
      latest = state;
      if (!busy) writing = drain();
    },
    flush: () => writing,
  };
}
