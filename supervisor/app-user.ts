// Which account an app runs as: the device decides, not the bundle. Running as root, the
// supervisor starts an app only as a user the device config allows (`app.allowedUsers`, by
// default just `app.user`, the unprivileged `twinslot-app` the installer makes). A manifest names
// one of those or none (then `app.user`). Refused whatever the list says: uid 0 or gid 0 without
// `supervisor.allowRootApps`, and the agent's own account (an app running as the agent could
// rewrite the agent's state and the slot it installs). Not running as root, the app runs as the
// supervisor's user.

import { CodedError, messageOf } from '../common/errors.ts';
import { userIds } from './ids.ts';

export interface AppUserPolicy {
  /** `app.user`: for a manifest that names no user. */
  appUser: string;
  /** `app.allowedUsers`: the only names a manifest may give. */
  allowedUsers: readonly string[];
  allowRootApps: boolean;
  /** `supervisor.agentUser`: never an app's account. */
  agentUser: string | null;
}

/** The account an app runs as. */
export interface AppIdentity {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The account to start the app as (undefined: as the supervisor's own user, when it is not
 * root). Throws APP_USER_NOT_ALLOWED for a name the device does not allow, uid or gid 0 without
 * `allowRootApps`, or the agent's account; APP_USER_UNKNOWN for a user the system does not know.
 */
export async function chooseAppUser(manifestUser: string | undefined, policy: AppUserPolicy, isRoot: boolean): Promise<AppIdentity | undefined> {
  if (!isRoot) return undefined; // the runner logs that a named user is ignored
  const name = manifestUser ?? policy.appUser;
  const source = manifestUser === undefined ? 'app.user' : 'the manifest';
  const refuse = (why: string): never => {
    throw new CodedError('APP_USER_NOT_ALLOWED', `${source} asks to run the app as ${name}: ${why}`, { user: name });
  };
  if (!policy.allowedUsers.includes(name)) refuse(`not in app.allowedUsers (${policy.allowedUsers.join(', ')})`);
  const ids = await lookup(name, source);
  if ((ids.uid === 0 || ids.gid === 0) && !policy.allowRootApps) refuse(`uid ${ids.uid}, gid ${ids.gid}; root's uid or group needs supervisor.allowRootApps`);
  if (policy.agentUser !== null && policy.agentUser !== 'root') {
    const agent = await userIds(policy.agentUser).catch(() => null);
    if (name === policy.agentUser || (agent !== null && agent.uid === ids.uid)) refuse(`that is the agent's account (supervisor.agentUser)`);
  }
  return { name, ...ids };
}

async function lookup(name: string, source: string): Promise<{ uid: number; gid: number }> {
  try {
    return await userIds(name);
  } catch (err) {
    throw new CodedError('APP_USER_UNKNOWN', `${source} names user ${name}: ${messageOf(err)}`, { user: name });
  }
}
