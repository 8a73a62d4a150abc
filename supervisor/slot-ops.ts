// The file work behind `prepare-slot`: what the slot held goes into a root-only trash directory
// with one rename(2) (the slots' parent is root-owned, so the agent cannot swap the entry), a
// fresh directory takes its place and is handed to the agent's user on its fd, and the trash is
// deleted only once every directory in it is root's (slot-walk.ts): a recursive delete can then
// not be raced into deleting anything outside it.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, isErrno, messageOf } from '../common/errors.ts';
import { fsyncDir } from '../common/durable-file.ts';
import type { Logger } from '../common/log.ts';
import type { DevicePaths, SlotName } from '../slots/paths.ts';
import { contentError, lockDir, type Owner } from './slot-walk.ts';

/** Whose a prepared slot becomes: the agent's ids, or null to keep root's (no agentUser, or not root). */
export type SlotHolder = { uid: number; gid: number } | null;

/** Empties `slot` into the trash, makes a fresh directory for `holder` and deletes the trash. */
export async function emptySlot(paths: DevicePaths, slot: SlotName, holder: SlotHolder, owner: Owner, logger: Logger): Promise<string> {
  const dir = paths.slot(slot);
  const trashed = await moveToTrash(paths, dir, slot, owner);
  await mkdir(dir, { mode: 0o755 });
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (holder !== null) await handle.chown(holder.uid, holder.gid);
    await handle.chmod(0o755);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(paths.slotsDir);
  if (trashed !== null) await deleteTrashed(trashed, owner, logger);
  return dir;
}

/** Moves whatever `dir` is (directory, symlink, file) into the trash; null when there was nothing. */
export async function moveToTrash(paths: DevicePaths, dir: string, label: string, owner: Owner): Promise<string | null> {
  try {
    await lstat(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  await ensureTrash(paths, owner);
  const target = join(paths.trashDir, `${label}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  await rename(dir, target);
  return target;
}

/** Deletes what an interrupted prepare-slot left in the trash (supervisor start). */
export async function emptyTrash(paths: DevicePaths, owner: Owner, logger: Logger): Promise<void> {
  await ensureTrash(paths, owner);
  for (const name of await readdir(paths.trashDir)) await deleteTrashed(join(paths.trashDir, name), owner, logger);
}

// The trash: a real directory, root's, 0700 (its parent, libDir, is root-owned).
async function ensureTrash(paths: DevicePaths, owner: Owner): Promise<void> {
  await mkdir(paths.trashDir, { mode: 0o700 }).catch((err: unknown) => {
    if (!isErrno(err, 'EEXIST')) throw err;
  });
  lockDir(paths.trashDir, 0o700, owner, (what) => new CodedError('SLOT_LAYOUT_INVALID', `${paths.trashDir}: ${what}`));
}

async function deleteTrashed(path: string, owner: Owner, logger: Logger): Promise<void> {
  try {
    const s = await lstat(path);
    if (s.isDirectory()) await freezeTree(path, owner);
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    // Left for the next start's emptyTrash: the slot itself is already fresh.
    logger.warn({ event: 'trash-delete-failed', path, err: messageOf(err) }, 'cannot delete an emptied slot\'s old content yet');
  }
}

// Every directory of the tree root's and 0700, parents first, so nobody else can change its entries.
async function freezeTree(dir: string, owner: Owner): Promise<void> {
  lockDir(dir, 0o700, owner, (what) => contentError('SLOT_LAYOUT_INVALID', 'trash', dir, what));
  for (const name of await readdir(dir)) {
    const child = join(dir, name);
    if ((await lstat(child)).isDirectory()) await freezeTree(child, owner);
  }
}
