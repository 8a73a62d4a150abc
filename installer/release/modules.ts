// Production node_modules for one architecture: `npm ci --omit=dev` for the target os/cpu, then
// every native binary of another platform is removed and the ones left are checked by ELF header.

import { execFile } from 'node:child_process';
import { copyFile, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { CodedError, messageOf } from '../../common/errors.ts';
import { elfMachine, expectElf, type ReleaseArch } from './arch.ts';

const run = promisify(execFile);

/** Native addons a release cannot run without, per architecture (relative to node_modules). */
export function requiredBinaries(arch: ReleaseArch): string[] {
  return [
    `aws-crt/dist/bin/linux-${arch}-glibc/aws-crt-nodejs.node`,
    `@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`,
  ];
}

/** Installs the lockfile's production dependencies for linux-<arch> into `appDir`/node_modules. */
export async function installModules(repoDir: string, appDir: string, arch: ReleaseArch): Promise<void> {
  await copyFile(join(repoDir, 'package-lock.json'), join(appDir, 'package-lock.json'));
  const args = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline',
    '--os=linux', `--cpu=${arch}`, '--libc=glibc'];
  try {
    await run('npm', args, { cwd: appDir, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? messageOf(err);
    throw new CodedError('RELEASE_NPM_CI', `npm ci for linux-${arch} failed: ${stderr.trim()}`, {}, { cause: err });
  }
  await rm(join(appDir, 'package-lock.json'));
  await rm(join(appDir, 'node_modules', '.package-lock.json'), { force: true });
}

/** Removes other platforms' binaries and what only a build or a browser uses. */
export async function pruneModules(modulesDir: string, arch: ReleaseArch): Promise<void> {
  const crtBin = join(modulesDir, 'aws-crt', 'dist', 'bin');
  for (const dir of await readdir(crtBin)) {
    if (dir !== `linux-${arch}-glibc`) await rm(join(crtBin, dir), { recursive: true });
  }
  for (const dir of ['dist.browser', 'source', 'lib', 'scripts', 'CMakeLists.txt']) {
    await rm(join(modulesDir, 'aws-crt', dir), { recursive: true, force: true });
  }
  const koffiPkg = join(modulesDir, '@koromix', `koffi-linux-${arch}`);
  for (const dir of await readdir(koffiPkg)) {
    if (dir.startsWith('musl_')) await rm(join(koffiPkg, dir), { recursive: true });
  }
  await removeMatching(modulesDir, (name) => name.endsWith('.js.map') || name.endsWith('.d.ts.map'));
}

async function removeMatching(dir: string, match: (name: string) => boolean): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await removeMatching(path, match);
    else if (entry.isFile() && match(entry.name)) await rm(path);
  }
}

/** Every `.node` addon under `modulesDir`, relative to it. */
async function nativeAddons(modulesDir: string, dir = modulesDir, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await nativeAddons(modulesDir, path, out);
    else if (entry.name.endsWith('.node')) out.push(relative(modulesDir, path));
  }
  return out;
}

/** Checks that the required addons exist and that every addon present is a linux-<arch> ELF. */
export async function verifyModules(modulesDir: string, arch: ReleaseArch): Promise<string[]> {
  const addons = await nativeAddons(modulesDir);
  for (const required of requiredBinaries(arch)) {
    if (!addons.includes(required)) {
      throw new CodedError('RELEASE_BINARY_MISSING', `node_modules/${required} is missing from the linux-${arch} release`);
    }
  }
  for (const addon of addons) expectElf(await elfMachine(join(modulesDir, addon)), arch, addon);
  return addons.sort();
}
