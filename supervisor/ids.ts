// User and group ids by name, for the slot owner, the socket group and the app user. Through NSS
// (getent) where it exists; on images without getent (busybox-only), from /etc/passwd and
// /etc/group directly. Always the real system's /etc, never the device root's: the app runner
// starts the app as a user of the real system.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, isErrno } from '../common/errors.ts';
import { runCommand } from './command.ts';

type Db = 'passwd' | 'group';

export interface IdLookupOptions {
  /** The getent command (tests name a missing one). */
  getent?: string;
  /** Where passwd and group are read when getent is missing. */
  etcDir?: string;
}

/** The fields of the first line of a passwd or group file whose name is `name`, or [] when none is. */
export function findNssEntry(text: string, name: string): string[] {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue; // comments, NIS compat lines
    const fields = line.split(':');
    if (fields[0] === name) return fields;
  }
  return [];
}

async function lookup(db: Db, name: string, opts: IdLookupOptions): Promise<string[]> {
  const { end, stdout } = await runCommand(opts.getent ?? 'getent', [db, name], { captureStdout: true });
  if (end.kind === 'exited' && end.code === 0) return stdout.trim().split(':');
  if (end.kind !== 'not-started' || end.error.code !== 'ENOENT') return []; // getent ran: 2 is "not found"
  const file = join(opts.etcDir ?? '/etc', db);
  try {
    return findNssEntry(await readFile(file, 'utf8'), name);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** uid, primary gid and home of user `name`; USER_UNKNOWN when the system does not know it. */
export async function userEntry(name: string, opts: IdLookupOptions = {}): Promise<{ uid: number; gid: number; home: string }> {
  const f = await lookup('passwd', name, opts); // name:password:uid:gid:gecos:home:shell
  const uid = parseId(f[2]);
  const gid = parseId(f[3]);
  if (f.length < 7 || uid === null || gid === null) throw new CodedError('USER_UNKNOWN', `no such user: ${name}`);
  return { uid, gid, home: f[5] || '/' };
}

/** uid and primary gid of user `name`; USER_UNKNOWN when the system does not know it. */
export async function userIds(name: string, opts: IdLookupOptions = {}): Promise<{ uid: number; gid: number }> {
  const { uid, gid } = await userEntry(name, opts);
  return { uid, gid };
}

/** gid of group `name`, or the number itself; GROUP_UNKNOWN otherwise. */
export async function groupId(name: string, opts: IdLookupOptions = {}): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const f = await lookup('group', name, opts); // name:password:gid:members
  const gid = parseId(f[2]);
  if (f.length < 3 || gid === null) throw new CodedError('GROUP_UNKNOWN', `no such group: ${name}`);
  return gid;
}

// A decimal id; an empty field (Number('') is 0) is not one.
function parseId(field: string | undefined): number | null {
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : null;
}
