// User and group ids by name through NSS (getent), for the slot owner and the socket group.

import { execa } from 'execa';
import { CodedError } from '../common/errors.ts';

async function getent(db: 'passwd' | 'group', name: string): Promise<string[]> {
  const result = await execa('getent', [db, name], { reject: false });
  return result.exitCode === 0 ? String(result.stdout).trim().split(':') : [];
}

/** uid and primary gid of user `name`; USER_UNKNOWN when the system does not know it. */
export async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const f = await getent('passwd', name); // name:password:uid:gid:gecos:home:shell
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (f.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new CodedError('USER_UNKNOWN', `no such user: ${name}`);
  return { uid, gid };
}

/** gid of group `name`, or the number itself; GROUP_UNKNOWN otherwise. */
export async function groupId(name: string): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const f = await getent('group', name); // name:password:gid:members
  const gid = Number(f[2]);
  if (f.length < 3 || !Number.isInteger(gid)) throw new CodedError('GROUP_UNKNOWN', `no such group: ${name}`);
  return gid;
}
