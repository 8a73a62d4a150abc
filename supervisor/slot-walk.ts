// How root works inside a tree that a less trusted user wrote (a slot the agent filled, or
// what a slot held before it is emptied) without ever following a path that user controls.
// Node has no openat(2), so the walk keeps one rule instead: a path is opened only when every
// directory above its last component is already root-owned and writable by nobody else, and
// the last component is opened with O_NOFOLLOW and checked on the fd.
//
// INVARIANTS
// - lockDir() is called on a directory only after its parent was locked (the slot's parent,
//   `slots/`, is root-owned: checked at the supervisor's start). Once a directory is locked
//   (fchown 0:0, fchmod without group/other write), its entries cannot change under us: the
//   kernel checks write permission on the directory at every rename, unlink or create, even
//   through a directory fd its owner opened before.
// - Every chown and chmod is on an fd (FileHandle.chown/chmod are fchown/fchmod); a symlink is
//   never opened (O_NOFOLLOW gives ELOOP) and only lchown'ed.
// - Nothing is opened that could block: FIFOs are refused by lstat before any open, files are
//   opened with O_NONBLOCK.

import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, openSync, type Stats } from 'node:fs';
import { lchown, lstat } from 'node:fs/promises';
import { CodedError, isErrno, messageOf } from '../common/errors.ts';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface Owner {
  /** Re-own to root (the supervisor is root); false: keep the owner (a supervisor run as a plain user). */
  asRoot: boolean;
}

/** A refusal about the content at `path` (relative to the slot), with `code`. */
export function contentError(code: string, label: string, rel: string, what: string): CodedError {
  return new CodedError(code, `${label}: ${rel === '' ? 'the slot directory' : rel}: ${what}`, { path: rel });
}

/**
 * Opens the directory `path` without following a symlink, checks it is the entry `lstat` saw,
 * gives it to root with `mode` (write bits for group and other always cleared) and closes it.
 */
export function lockDir(path: string, mode: number, owner: Owner, fail: (what: string) => CodedError): Stats {
  const { fd } = openChecked(path, DIR_FLAGS, 'directory', fail);
  try {
    lockFd(fd, mode, owner);
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens the regular file `path` read-only without following a symlink or blocking, and refuses
 * a file with more than one name (a hard link would let its other name change what runs).
 * Returns the fd (caller closes). Synchronous: for the bulk of a slot's files a thread-pool round
 * trip per call costs more than the call (the callers yield between files).
 */
export function openRegular(path: string, fail: (what: string) => CodedError): { fd: number; stat: Stats } {
  const opened = openChecked(path, FILE_FLAGS, 'file', fail);
  if (opened.stat.nlink !== 1) {
    closeSync(opened.fd);
    throw fail(`has ${opened.stat.nlink} names (a hard link)`);
  }
  return opened;
}

/** fchown to root (when `owner.asRoot`) and fchmod, on an fd the walk opened. */
export function lockFd(fd: number, mode: number, owner: Owner): void {
  if (owner.asRoot) fchownSync(fd, 0, 0);
  fchmodSync(fd, mode & 0o755);
}

/** Gives the symlink `path` itself to root (never what it points to). */
export async function lockSymlink(path: string, owner: Owner, fail: (what: string) => CodedError): Promise<void> {
  if (!owner.asRoot) return;
  try {
    await lchown(path, 0, 0);
  } catch (err) {
    throw fail(messageOf(err));
  }
}

/** lstat that maps a missing entry to `fail('is missing')`. */
export async function lstatEntry(path: string, fail: (what: string) => CodedError): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw fail('is missing');
    throw fail(messageOf(err));
  }
}

// The one way a walk opens an entry: lstat it, open it with O_NOFOLLOW, and check on the fd that
// it is the same inode the lstat saw.
function openChecked(path: string, flags: number, kind: 'file' | 'directory', fail: (what: string) => CodedError): { fd: number; stat: Stats } {
  let before: Stats;
  try {
    before = lstatSync(path);
  } catch (err) {
    throw fail(isErrno(err, 'ENOENT') ? 'is missing' : messageOf(err));
  }
  if (kind === 'directory' ? !before.isDirectory() : !before.isFile()) throw fail(`is a ${typeOf(before)}, not a ${kind}`);
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (err) {
    throw fail(isErrno(err, 'ELOOP') ? 'became a symlink' : messageOf(err));
  }
  const stat = fstatSync(fd);
  if (stat.ino !== before.ino || stat.dev !== before.dev) {
    closeSync(fd);
    throw fail('changed while it was being checked');
  }
  return { fd, stat };
}

/** What an lstat result is, in words. */
export function typeOf(s: Stats): string {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isDirectory()) return 'directory';
  if (s.isFile()) return 'regular file';
  if (s.isFIFO()) return 'FIFO';
  if (s.isSocket()) return 'socket';
  return 'device node';
}
