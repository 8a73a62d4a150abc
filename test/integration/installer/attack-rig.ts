// Set-up for the attacks on install.sh (test/integration/security/installer*.test.ts): device
// roots the agent's uid can reach, that uid read from the root's own passwd (the one install.sh
// gave `twinslot`), root-owned victims outside the agent's reach, and fingerprints of them.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult, TestUser } from '../../helpers/users.ts';
import { modeOf } from './tree.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Throws unless the attack tests can run: as root, with setpriv to become the agent's uid. */
export function requireAttackTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the installer attack tests run install.sh as root and the attacks as its agent uid: run them as root');
  if (spawnSync('setpriv', ['--version']).status !== 0) throw new Error('setpriv is missing (Debian package util-linux)');
  if (spawnSync('openssl', ['version']).status !== 0) throw new Error('openssl is missing (Debian package openssl)');
}

/** A temp dir every user may traverse (mkdtemp makes 0700), root-owned. */
export async function openTemp(prefix: string, temps: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  await chmod(dir, 0o755);
  return dir;
}

/** Runs install.sh (or any script) with `sh` as root. */
export function sh(script: string, args: string[]): Run {
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `twinslot` account install.sh wrote into ROOT/etc/passwd: the uid the agent runs as. */
export async function agentOf(root: string): Promise<TestUser> {
  const line = (await readFile(join(root, 'etc', 'passwd'), 'utf8')).split('\n').find((l) => l.startsWith('twinslot:'));
  const f = line?.split(':') ?? [];
  if (f.length < 4) throw new Error(`no twinslot user in ${root}/etc/passwd`);
  return { name: 'twinslot', uid: Number(f[2]), gid: Number(f[3]) };
}

/**
 * Runs `argv` as `user` (real and effective uid and gid, no supplementary groups) through
 * setpriv, as test/helpers/users.ts's runAs does, but with no stdin: a short command that exits
 * before its stdin is written would fail runAs with EPIPE.
 */
export async function runAsUser(user: TestUser, argv: string[]): Promise<RunResult> {
  const child = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a shell script as `user`. */
export function shAs(user: TestUser, script: string): Promise<RunResult> {
  return runAsUser(user, ['sh', '-c', script]);
}

export interface Victims {
  dir: string;
  /** root:root 0600 file, "precious". */
  file: string;
  /** root:root 0700 directory holding `keep` (root:root 0600). */
  tree: string;
}

/** Root-owned victims in their own directory, outside every root the installer writes. */
export async function makeVictims(temps: string[]): Promise<Victims> {
  const dir = await openTemp('twinslot-victim-', temps);
  const file = join(dir, 'shadow');
  const tree = join(dir, 'etc');
  await writeFile(file, 'precious\n', { mode: 0o600 });
  await mkdir(tree, { mode: 0o700 });
  await writeFile(join(tree, 'keep'), 'kept\n', { mode: 0o600 });
  return { dir, file, tree };
}

/** Mode, owner and content of `path` (and of everything under it), without following links. */
export async function fingerprint(path: string): Promise<string> {
  const st = await lstat(path);
  const head = `${modeOf(st.mode)} ${st.uid}:${st.gid}`;
  if (st.isSymbolicLink()) return `${head} -> ${await readlink(path)}`;
  if (st.isFile()) return `${head} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  const names = (await readdir(path)).sort();
  const inner = await Promise.all(names.map(async (n) => `${n}{${await fingerprint(join(path, n))}}`));
  return `${head} [${inner.join(' ')}]`;
}
