// Starts one instance of an app: resolves the command, user and environment, spawns it in its
// own process group and sends its output lines to the log. node:child_process, not execa: see
// supervisor/command.ts.

import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { userEntry } from '../ids.ts';
import type { AppSpec } from '../ports.ts';

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
}

/** Spawns `spec`; rejects with APP_SPAWN_FAILED when the command cannot be started. */
export async function launchApp(spec: AppSpec, logger: Logger, now: () => number, monotonic: () => number): Promise<LaunchedApp> {
  const slotDir = resolveSlotDir(spec);
  const [command, ...args] = spec.entrypoint.command;
  if (command === undefined) throw new CodedError('APP_SPAWN_FAILED', `${spec.name}: empty entrypoint command`);
  const identity = await resolveUser(spec.entrypoint.user, logger);
  const spawnFailed = (err: unknown): CodedError => new CodedError('APP_SPAWN_FAILED', `${spec.name}: ${messageOf(err)}`, {}, { cause: err });
  let subprocess: ReturnType<typeof spawn>;
  try {
    subprocess = spawn(isAbsolute(command) ? command : resolve(slotDir, command), args, {
      cwd: resolve(slotDir, spec.entrypoint.workingDir ?? '.'),
      env: { ...inheritedEnv(), ...identity?.env, ...spec.entrypoint.env, ...spec.env },
      detached: true, // own session and process group: stop signals reach grandchildren too
      stdio: ['ignore', 'pipe', 'pipe'], // a long-running app: lines go to the log, never into memory
      ...(identity === null ? {} : { uid: identity.uid, gid: identity.gid }),
    });
  } catch (err) {
    throw spawnFailed(err); // options Node refuses before it forks
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
  });
  // Later errors (none expected: the app is signalled through its process group) are logged, never thrown.
  subprocess.on('error', (err) => logger.warn({ event: 'app-process-error', app: spec.name, err: messageOf(err) }));
  const labels = { event: 'app-output', app: spec.name, version: spec.version, pid: spawned };
  forwardLines(subprocess.stdout, logger, { ...labels, stream: 'stdout' });
  forwardLines(subprocess.stderr, logger, { ...labels, stream: 'stderr' });
  return { pid: spawned, startedAt: now(), startedMono: monotonic(), exited, hasExited: () => done };
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

function forwardLines(stream: Readable | null, logger: Logger, labels: Record<string, unknown>): void {
  if (stream === null) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => logger.info({ ...labels, line }));
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
