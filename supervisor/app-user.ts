// Which user an app runs as. Running as root, the supervisor never starts an app as root by
// accident: a manifest without `entrypoint.user` gets `app.user` (the unprivileged
// `twinslot-app` by default), and a user with uid 0 is refused unless
// `supervisor.allowRootApps` is set. Not running as root, the app runs as the supervisor's user.

import { CodedError, messageOf } from '../common/errors.ts';
import { userIds } from './ids.ts';

export interface AppUserPolicy {
  /** `app.user`: for a manifest that names no user. */
  appUser: string;
  allowRootApps: boolean;
}

/**
 * The user name to start the app as (undefined: as the supervisor's own user). Throws
 * APP_USER_UNKNOWN for a user the system does not know, APP_USER_NOT_ALLOWED for uid 0
 * without `allowRootApps`.
 */
export async function chooseAppUser(manifestUser: string | undefined, policy: AppUserPolicy, isRoot: boolean): Promise<string | undefined> {
  if (!isRoot) return manifestUser; // the runner logs that a named user is ignored
  const name = manifestUser ?? policy.appUser;
  const source = manifestUser === undefined ? 'app.user' : 'the manifest';
  let uid: number;
  try {
    uid = (await userIds(name)).uid;
  } catch (err) {
    throw new CodedError('APP_USER_UNKNOWN', `${source} names user ${name}: ${messageOf(err)}`, { user: name });
  }
  if (uid === 0 && !policy.allowRootApps) {
    throw new CodedError('APP_USER_NOT_ALLOWED', `${source} asks to run the app as ${name} (uid 0); set supervisor.allowRootApps to allow it`, { user: name });
  }
  return name;
}
