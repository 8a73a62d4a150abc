// Looks up the uid, gid and home of a user name through NSS (getent), so LDAP/sssd users work too.

import { execa } from 'execa';
import { CodedError } from '../../common/errors.ts';

export interface UserIdentity {
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/** The identity of `name`; APP_USER_UNKNOWN when the system does not know it. */
export async function lookupUser(name: string): Promise<UserIdentity> {
  const result = await execa('getent', ['passwd', name], { reject: false });
  // passwd line: name:password:uid:gid:gecos:home:shell
  const fields = result.exitCode === 0 ? String(result.stdout).trim().split(':') : [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new CodedError('APP_USER_UNKNOWN', `no such user: ${name}`, { user: name });
  }
  const home = fields[5] ?? '/';
  return { uid, gid, env: { HOME: home, USER: name, LOGNAME: name } };
}
