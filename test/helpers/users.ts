// The real unprivileged users that attack tests run as. Attacks must run as real uids (setpriv),
// not as root pretending: the kernel's permission checks are what the tests are about.
//
// Two dedicated system accounts are made on the machine once (useradd --system, no home, no
// shell), as install.sh makes `twinslot` and `twinslot-app` on a device: the supervisor resolves
// names through the machine's NSS, so they must exist there. `nobody` stands for any other user.

import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

export const AGENT_USER = 'twinslot-t-agent';
export const APP_USER = 'twinslot-t-app';

function lookup(name: string): TestUser | null {
  try {
    const f = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return null;
  }
}

function ensure(name: string): TestUser {
  const found = lookup(name);
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  } catch (err) {
    // Another test file made it at the same moment: fine if it exists now.
    if (lookup(name) === null) throw new Error(`cannot create test user ${name} (useradd, Debian package passwd): ${(err as Error).message}`, { cause: err });
  }
  const made = lookup(name);
  if (!made) throw new Error(`test user ${name} missing after useradd`);
  return made;
}

/** The agent's, the app's and an unrelated user's accounts; throws unless the tests run as root. */
export function testUsers(): { agent: TestUser; app: TestUser; nobody: TestUser } {
  if (process.getuid?.() !== 0) throw new Error('attack tests run the supervisor as root and the attacks as other users: run them as root');
  const nobody = lookup('nobody');
  if (!nobody) throw new Error('no user nobody on this machine');
  return { agent: ensure(AGENT_USER), app: ensure(APP_USER), nobody };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` as `user` (real and effective uid and gid, no supplementary groups) through
 * util-linux's setpriv, and resolves with how it ended; never rejects for a non-zero exit.
 */
export async function runAs(user: TestUser, argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<RunResult> {
  const child = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv], {
    env: opts.env ?? process.env, cwd: opts.cwd ?? '/', stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // a command that exits before reading its input
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a short Node script (ES module source) as `user`; its stdout is returned. */
export function nodeAs(user: TestUser, source: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return runAs(user, [process.execPath, '--input-type=module', '-e', source], opts);
}
