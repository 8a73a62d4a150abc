// The notify socket's directory (paths.appRunDir): root:<the app's group> 0750, so that root and
// the app's group are the only ones who can reach the socket in it. Its parent (/run/twinslot)
// must be root's and writable by root alone; whatever stands in the directory's place and is not
// a root-owned directory (a symlink, a file, another owner's directory) is removed and the
// directory made again. Owner and mode are then set through a descriptor opened with
// O_DIRECTORY | O_NOFOLLOW, never through the path.

import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, rmSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { CodedError, isErrno } from '../../common/errors.ts';

const MODE = 0o750;

/**
 * Makes `dir` root:`gid` 0750. `gid` null (the supervisor is not root): only makes it when
 * missing and changes nothing else. Throws HEALTH_NOTIFY_SOCKET_FAILED when its parent is not safe.
 */
export function prepareSocketDir(dir: string, gid: number | null): void {
  if (gid === null) {
    mkdirSync(dir, { recursive: true, mode: MODE });
    return;
  }
  const parent = lstatOrNull(dirname(dir));
  if (parent === null || !parent.isDirectory() || parent.uid !== 0 || (parent.mode & 0o022) !== 0) {
    throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `${dirname(dir)} must be a directory owned and writable only by root`);
  }
  const found = lstatOrNull(dir);
  if (found === null || !found.isDirectory() || found.uid !== 0) {
    if (found !== null) rmSync(dir, { recursive: true, force: true }); // unlinks a symlink, never follows it
    mkdirSync(dir, { mode: 0o700 });
  }
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isDirectory() || st.uid !== 0) throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `${dir} is not a directory of root's`);
    fchownSync(fd, 0, gid);
    fchmodSync(fd, MODE);
  } finally {
    closeSync(fd);
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * The socket file in the directory: root:`gid` 0660; `gid` null: 0666, owner unchanged (the app
 * runs as the supervisor's own user). By path: only root can write in the directory.
 */
export function setSocketMode(path: string, gid: number | null): void {
  if (gid !== null) chownSync(path, 0, gid);
  chmodSync(path, gid === null ? 0o666 : 0o660);
}
