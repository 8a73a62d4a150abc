// Builds a self-contained release per architecture: the pinned Node.js runtime, production
// node_modules for that architecture, twinslot's TypeScript sources (outside node_modules, where
// Node allows type stripping), a launcher, the installer and the systemd units.
//
// Layout of dist/twinslot-<version>-linux-<arch>.tar.gz:
//   twinslot-<version>-linux-<arch>/
//     install.sh  uninstall.sh  release.json
//     bin/twinslot                 sh launcher: runtime/bin/node app/cli/main.ts "$@"
//     runtime/bin/node             node-linux-<arch> from the npm registry
//     app/package.json app/node_modules app/{cli,common,slots,bundle,supervisor,agent,emulator,installer}

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CodedError, messageOf } from '../../common/errors.ts';
import { SUPERVISOR_V8_FLAGS } from '../../supervisor/lean-runtime.ts';
import type { ReleaseArch } from './arch.ts';
import { installModules, pruneModules, verifyModules } from './modules.ts';
import { pinnedNodeVersion, stageRuntime } from './runtime.ts';

const run = promisify(execFile);

/** Source folders shipped in a release, each only if present in the checkout. */
export const SOURCE_DIRS = ['cli', 'common', 'slots', 'ipc', 'bundle', 'supervisor', 'agent', 'emulator', 'installer', 'jobs-documents'];

export interface BuildOptions {
  repoDir: string;
  outDir: string;
  arch: ReleaseArch;
  /** Where node-linux-* packages are kept between builds. */
  cacheDir: string;
  /** Stop after staging the directory (no tarball). */
  stageOnly?: boolean;
}

export interface BuiltRelease {
  arch: ReleaseArch;
  version: string;
  node: string;
  /** The staged release directory. */
  dir: string;
  tarball: string | null;
  bytes: number | null;
  addons: string[];
}

const LAUNCHER = `#!/bin/sh
# Runs twinslot with the Node.js runtime shipped in this release, never the system's node.
set -eu
top=$(dirname "$(dirname "$(readlink -f "$0")")")
# The supervisor's V8 flags go on its command line (supervisor/lean-runtime.ts).
[ "\${1:-}" = supervisor ] && exec "$top/runtime/bin/node" ${SUPERVISOR_V8_FLAGS.join(' ')} "$top/app/cli/main.ts" "$@"
exec "$top/runtime/bin/node" "$top/app/cli/main.ts" "$@"
`;

/** The version in the checkout's package.json. */
export async function packageVersion(repoDir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoDir, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new CodedError('RELEASE_VERSION', 'package.json has no version');
  return pkg.version;
}

/** The name of a release (directory and tarball stem). */
export function releaseName(version: string, arch: ReleaseArch): string {
  return `twinslot-${version}-linux-${arch}`;
}

async function stageSources(repoDir: string, appDir: string): Promise<void> {
  await mkdir(appDir, { recursive: true });
  await copyFile(join(repoDir, 'package.json'), join(appDir, 'package.json'));
  for (const dir of SOURCE_DIRS) {
    const from = join(repoDir, dir);
    if (!existsSync(from)) continue;
    await cp(from, join(appDir, dir), { recursive: true, filter: (src) => !src.includes(`${join(repoDir, dir)}/.tmp`) });
  }
}

async function stageTop(repoDir: string, dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'bin', 'twinslot'), LAUNCHER);
  await chmod(join(dir, 'bin', 'twinslot'), 0o755);
  for (const script of ['install.sh', 'uninstall.sh']) {
    await copyFile(join(repoDir, 'installer', script), join(dir, script));
    await chmod(join(dir, script), 0o755);
  }
}

async function archive(stageRoot: string, name: string, tarball: string): Promise<number> {
  await rm(tarball, { force: true });
  try {
    await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0',
      '-czf', tarball, '-C', stageRoot, name]);
  } catch (err) {
    throw new CodedError('RELEASE_ARCHIVE', `tar failed for ${tarball}: ${messageOf(err)}`, {}, { cause: err });
  }
  return (await stat(tarball)).size;
}

/** Builds (and unless stageOnly, archives) the release for one architecture. */
export async function buildRelease(opts: BuildOptions): Promise<BuiltRelease> {
  const version = await packageVersion(opts.repoDir);
  const node = await pinnedNodeVersion(opts.repoDir);
  const name = releaseName(version, opts.arch);
  const stageRoot = join(opts.outDir, `.stage-${opts.arch}`);
  const dir = join(stageRoot, name);
  await rm(stageRoot, { recursive: true, force: true });
  const appDir = join(dir, 'app');
  await stageSources(opts.repoDir, appDir);
  await installModules(opts.repoDir, appDir, opts.arch);
  await pruneModules(join(appDir, 'node_modules'), opts.arch);
  const addons = await verifyModules(join(appDir, 'node_modules'), opts.arch);
  await stageRuntime(opts.arch, node, opts.cacheDir, join(dir, 'runtime'));
  await stageTop(opts.repoDir, dir);
  const manifest = { name: 'twinslot', version, arch: opts.arch, os: 'linux', libc: 'glibc', node, addons };
  await writeFile(join(dir, 'release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (opts.stageOnly) return { arch: opts.arch, version, node, dir, tarball: null, bytes: null, addons };
  const tarball = join(opts.outDir, `${name}.tar.gz`);
  const bytes = await archive(stageRoot, name, tarball);
  return { arch: opts.arch, version, node, dir, tarball, bytes, addons };
}
