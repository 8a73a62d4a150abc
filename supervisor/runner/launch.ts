// Starts one instance of an app: resolves the command, user and environment, gives it its
// containment (containment.ts; a cgroup is joined before the app runs, hold.ts), spawns it in its
// own process group and sends its output to the log, bounded (output.ts). node:child_process,
// not execa: see supervisor/command.ts.

import { accessSync, constants, realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../common/clock.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { userEntry } from '../ids.ts';
import type { AppSpec } from '../ports.ts';
import type { Containment } from './containment.ts';
import { heldCommand, releaseHeld } from './hold.ts';
import { forwardOutput } from './output.ts';
import type { TokenBucket } from './token-bucket.ts';
import type { ContainmentRecord, InstanceBox } from './instance-box.ts';

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** A spawned app instance. Its pid is also its process group id. */
export interface LaunchedApp {
  pid: number;
  /** Epoch ms, for status and events. */
  startedAt: number;
  /** Monotonic ms, for uptime. */
  startedMono: number;
  /** Settles when the process has exited and been reaped. */
  exited: Promise<ExitStatus>;
  hasExited(): boolean;
  /** Where its processes are kept: what a stop must empty. */
  box: InstanceBox;
}

/** What the app record file keeps of an instance (orphan.ts). */
export interface InstanceRecord {
  pgid: number;
  containment: ContainmentRecord;
}

export interface LaunchContext {
  logger: Logger;
  clock: Clock;
  containment: Containment;
  /** Called once the instance is in its box and before it runs the app. */
  record: (r: InstanceRecord) => void;
  /** The app's log rate, shared by its instances (output.ts). */
  logBudget: TokenBucket;
}

/** Spawns `spec`; rejects with APP_SPAWN_FAILED when the command cannot be started. */
export async function launchApp(spec: AppSpec, ctx: LaunchContext): Promise<LaunchedApp> {
  const slotDir = resolveSlotDir(spec);
  const [command, ...args] = spec.entrypoint.command;
  if (command === undefined) throw new CodedError('APP_SPAWN_FAILED', `${spec.name}: empty entrypoint command`);
  const identity = await resolveUser(spec.entrypoint.user, ctx.logger);
  const spawnFailed = (err: unknown): CodedError => new CodedError('APP_SPAWN_FAILED', `${spec.name}: ${messageOf(err)}`, {}, { cause: err });
  const file = isAbsolute(command) ? command : resolve(slotDir, command);
  const uid = identity?.uid ?? null;
  const label = spec.env['TWINSLOT_SLOT'] ?? 'x';
  const opened = ctx.containment.open(label, uid);
  let subprocess: ChildProcess;
  try {
    // Held, the spawn runs /bin/sh, which exists: a missing command would only show as exit 127.
    if (opened.cgroup !== null) accessSync(file, constants.X_OK);
    const run = opened.cgroup === null ? { command: file, args, stdio: ['ignore', 'pipe', 'pipe'] as const } : heldCommand(file, args);
    subprocess = spawn(run.command, run.args, {
      cwd: resolve(slotDir, spec.entrypoint.workingDir ?? '.'),
      env: { ...inheritedEnv(), ...identity?.env, ...spec.entrypoint.env, ...spec.env },
      detached: true, // own session and process group: stop signals reach grandchildren too
      stdio: [...run.stdio], // a long-running app: lines go to the log, never into memory
      ...(identity === null ? {} : { uid: identity.uid, gid: identity.gid }),
    });
  } catch (err) {
    opened.dispose();
    throw spawnFailed(err); // options Node refuses before it forks, a command that is not there
  }
  let done = false;
  const exited = new Promise<ExitStatus>((ok) => {
    subprocess.once('exit', (code, signal) => {
      done = true;
      ok({ code, signal });
    });
  });
  const spawned = await new Promise<number>((ok, fail) => {
    subprocess.once('spawn', () => ok(subprocess.pid ?? -1));
    subprocess.once('error', (err) => fail(spawnFailed(err)));
  }).catch((err: unknown) => {
    opened.dispose();
    throw err;
  });
  const box = ctx.containment.adopt(opened, spawned, label, uid);
  try {
    ctx.record({ pgid: spawned, containment: box.record });
  } catch (err) {
    ctx.logger.warn({ event: 'app-record-failed', err: messageOf(err) }, 'cannot record the app instance');
  }
  if (opened.cgroup !== null) releaseHeld(subprocess);
  // Later errors (none expected: the app is signalled through its process group) are logged, never thrown.
  subprocess.on('error', (err) => ctx.logger.warn({ event: 'app-process-error', app: spec.name, err: messageOf(err) }));
  forwardOutput(subprocess, ctx.logger, { event: 'app-output', app: spec.name, version: spec.version, pid: spawned }, ctx.clock, ctx.logBudget);
  return { pid: spawned, startedAt: ctx.clock.now(), startedMono: ctx.clock.monotonic(), exited, hasExited: () => done, box };
}

// Settings of the supervisor's own process that must not reach the app: the unit's compile
// cache (a root-owned directory of the supervisor's modules) and a service manager's notify
// socket meant for the supervisor. The app gets twinslot's notify socket through spec.env when
// one is configured, and a manifest may set either variable for itself.
const SUPERVISOR_ONLY_ENV = ['NODE_COMPILE_CACHE', 'NOTIFY_SOCKET'];

function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of SUPERVISOR_ONLY_ENV) delete env[name];
  return env;
}

// Resolved once per start: `current` may flip to the other slot while this instance runs.
function resolveSlotDir(spec: AppSpec): string {
  try {
    return realpathSync(spec.slotDir);
  } catch (err) {
    throw new CodedError('APP_SPAWN_FAILED', `${spec.name}: slot directory ${spec.slotDir}: ${messageOf(err)}`, {}, { cause: err });
  }
}

async function resolveUser(user: string | undefined, logger: Logger): Promise<UserIdentity | null> {
  if (user === undefined) return null;
  if (process.getuid?.() !== 0) {
    logger.warn({ event: 'app-user-ignored', user }, 'not running as root: the app runs as the supervisor user');
    return null;
  }
  return lookupUser(user);
}

// Looked up through NSS (getent), so users from LDAP/sssd work as well as /etc/passwd (ids.ts).
interface UserIdentity {
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/** The identity of `name`; APP_USER_UNKNOWN when the system does not know it. */
async function lookupUser(name: string): Promise<UserIdentity> {
  try {
    const { uid, gid, home } = await userEntry(name);
    return { uid, gid, env: { HOME: home, USER: name, LOGNAME: name } };
  } catch (err) {
    if (err instanceof CodedError && err.code === 'USER_UNKNOWN') throw new CodedError('APP_USER_UNKNOWN', `no such user: ${name}`, { user: name }, { cause: err });
    throw err; // the lookup itself failed (an unreadable /etc/passwd): not "no such user"
  }
}
