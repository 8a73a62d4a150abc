// The pinned Node.js runtime of a release, taken from the npm registry's `node-linux-<arch>`
// package at exactly the version of the `node` dev dependency, so every release of one commit
// runs on the same runtime whatever the device's OS ships.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { CodedError, messageOf } from '../../common/errors.ts';
import { elfMachine, expectElf, type ReleaseArch } from './arch.ts';

const run = promisify(execFile);

/** The exact Node.js version the `node` dev dependency installed in `repoDir`. */
export async function pinnedNodeVersion(repoDir: string): Promise<string> {
  const file = join(repoDir, 'node_modules', 'node', 'package.json');
  try {
    const pkg = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string' && /^24\.\d+\.\d+$/.test(pkg.version)) return pkg.version;
    throw new Error(`version ${JSON.stringify(pkg.version)} is not a Node 24 release`);
  } catch (err) {
    throw new CodedError('RELEASE_NODE_VERSION', `cannot read the pinned Node.js version from ${file}: ${messageOf(err)}`, {}, { cause: err });
  }
}

/** `npm pack`s node-linux-<arch>@version into `cacheDir` once; returns the tarball path. */
async function fetchRuntimePackage(arch: ReleaseArch, version: string, cacheDir: string): Promise<string> {
  const file = join(cacheDir, `node-linux-${arch}-${version}.tgz`);
  if (existsSync(file)) return file;
  await mkdir(cacheDir, { recursive: true });
  try {
    await run('npm', ['pack', `node-linux-${arch}@${version}`, '--pack-destination', cacheDir, '--silent', '--prefer-offline'], { cwd: cacheDir });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? messageOf(err);
    throw new CodedError('RELEASE_RUNTIME_FETCH', `npm pack node-linux-${arch}@${version} failed: ${stderr.trim()}`, {}, { cause: err });
  }
  if (!existsSync(file)) throw new CodedError('RELEASE_RUNTIME_FETCH', `npm pack did not produce ${file}`);
  return file;
}

/** Puts `bin/node` (and its licence) for `arch` under `runtimeDir`, checking the binary's ELF machine. */
export async function stageRuntime(arch: ReleaseArch, version: string, cacheDir: string, runtimeDir: string): Promise<void> {
  const pkg = await fetchRuntimePackage(arch, version, cacheDir);
  const tmp = await mkdtemp(join(cacheDir, 'unpack-'));
  try {
    await tar.x({ file: pkg, cwd: tmp });
    const node = join(tmp, 'package', 'bin', 'node');
    expectElf(await elfMachine(node), arch, node);
    await mkdir(join(runtimeDir, 'bin'), { recursive: true });
    await copyFile(node, join(runtimeDir, 'bin', 'node'));
    await run('chmod', ['0755', join(runtimeDir, 'bin', 'node')]);
    for (const name of ['LICENSE', 'README.md']) {
      const from = join(tmp, 'package', name);
      if (existsSync(from)) await copyFile(from, join(runtimeDir, name));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
