// Makes a slot's contents durable before the supervisor records it `ready`. The agent's
// installer fsyncs what it writes, but the supervisor is the one that records `ready`, and a
// slot recorded ready must survive a power cut or a watchdog reset: a manifest.json written
// without fsync was seen empty after a reset five seconds later. So `slot-ready` fsyncs every
// regular file and directory of the slot first (a walk: portable, no syncfs binding needed).
//
// INVARIANTS
// - Children are synced before the directory that names them, the slot directory last.
// - Nothing is followed: files open with O_NOFOLLOW; a symlink is not opened (its entry is made
//   durable by its directory's fsync), so a dangling link is fine.
// - Anything that cannot be synced (a FIFO, a socket, a device, a file that cannot be opened)
//   is refused with SLOT_SYNC_FAILED naming it; then nothing is recorded.

import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CodedError, messageOf } from '../common/errors.ts';

const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** fsyncs every regular file and directory under `dir` (and `dir`); returns how many. */
export async function syncTree(dir: string, label = dir): Promise<number> {
  return syncDir(dir, dir, label);
}

async function syncDir(top: string, dir: string, label: string): Promise<number> {
  let count = 0;
  const entries = await guarded(top, dir, label, () => readdir(dir, { withFileTypes: true }));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) count += await syncDir(top, path, label);
    else if (entry.isFile()) count += await syncPath(top, path, FILE_FLAGS, label);
    else if (!entry.isSymbolicLink()) {
      throw new CodedError('SLOT_SYNC_FAILED', `${label}: cannot sync ${relative(top, path)}: not a regular file, directory or symlink`, { path: relative(top, path) });
    }
  }
  return count + (await syncPath(top, dir, DIR_FLAGS, label));
}

async function syncPath(top: string, path: string, flags: number, label: string): Promise<number> {
  const handle = await guarded(top, path, label, () => open(path, flags));
  try {
    await guarded(top, path, label, () => handle.sync());
  } finally {
    await handle.close();
  }
  return 1;
}

// Any fs error becomes SLOT_SYNC_FAILED with the path inside the slot.
async function guarded<T>(top: string, path: string, label: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const rel = relative(top, path) || '.';
    const errno = (err as NodeJS.ErrnoException).code;
    throw new CodedError('SLOT_SYNC_FAILED', `${label}: cannot sync ${rel}: ${messageOf(err)}`, { path: rel, ...(errno ? { errno } : {}) });
  }
}
