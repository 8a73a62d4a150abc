// Durable, atomic replacement of files and symlinks.
//
// INVARIANTS
// - A reader sees either the old or the new content, never a mix: the new bytes go to a temp
//   file in the same directory, are fsynced, and replace the target with rename(2).
// - The rename itself survives a power cut: the directory is fsynced after it.
// - Temp names carry the pid, a counter and random bytes, so two writers never share a temp
//   file, and neither does a writer after a power cut: a device boots the same way every time, so
//   the restarted process often has the same pid as the one whose temp file the cut left behind.
// - Such leftovers are removed only by the owner of a directory, at its start
//   (removeStaleTempsSync), never while another writer could be between create and rename.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, symlinkSync, writeSync, constants } from 'node:fs';
import { open, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

function tempPathFor(target: string): string {
  counter += 1;
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${counter}-${randomBytes(4).toString('hex')}`);
}

const TEMP_NAME = /^\..+\.tmp-\d+-\d+(-[0-9a-f]+)?$/;

/** Removes the temp files an interrupted writeFileAtomic* left in `dir`; returns their names. */
export function removeStaleTempsSync(dir: string): string[] {
  const stale = readdirSync(dir).filter((name) => TEMP_NAME.test(name));
  for (const name of stale) rmSync(join(dir, name), { force: true });
  return stale;
}

/** fsync a directory so that renames and creations inside it are durable. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replace `target` with `data` atomically and durably (synchronous: for crash-sensitive state). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = tempPathFor(target);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(target));
}

/** Async variant of writeFileAtomicSync. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(target));
}

/** Async fsync of a directory. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Point the symlink `link` at `target` atomically (symlink to a temp name, rename over). */
export function replaceSymlinkSync(target: string, link: string): void {
  const temp = tempPathFor(link);
  symlinkSync(target, temp);
  try {
    renameSync(temp, link);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(link));
}

/** Async variant of replaceSymlinkSync. */
export async function replaceSymlink(target: string, link: string): Promise<void> {
  const temp = tempPathFor(link);
  await symlink(target, temp);
  try {
    await rename(temp, link);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(link));
}
