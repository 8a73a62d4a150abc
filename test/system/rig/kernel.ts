// The guest kernel: Debian's own, the versioned package that linux-image-amd64 depends on,
// unpacked on the host; vmlinuz plus the few modules the rig needs, in dependency order.

import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError } from '../../../common/errors.ts';
import { cachedDir, keyOf, RIG_VERSION } from './cache.ts';
import { run } from './exec.ts';

/**
 * Modules asked for by name; their `depends` are added before them. crc32c_generic stands for
 * ext4's soft dependency `crypto-crc32c` (an alias that modinfo does not resolve), virtio_rng
 * feeds the guest's entropy so Node's startup never waits on getrandom().
 */
export const GUEST_MODULES = [
  'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng',
  'crc32c_generic', 'ext4', 'watchdog', 'i6300esb',
];

export interface Kernel {
  dir: string;
  vmlinuz: string;
  /** Module file names (`<name>.ko`) in `dir/modules`, in load order. */
  modules: string[];
}

/** The versioned kernel package, e.g. linux-image-6.1.0-56-amd64. */
async function kernelPackage(): Promise<string> {
  let out = await run('apt-cache', ['depends', 'linux-image-amd64']).catch(() => '');
  if (!/Depends: linux-image-/.test(out)) {
    await run('apt-get', ['update', '-qq']);
    out = await run('apt-cache', ['depends', 'linux-image-amd64']);
  }
  const match = /Depends: (linux-image-[0-9][^\s]*)/.exec(out);
  if (!match?.[1]) throw new CodedError('RIG_NO_KERNEL', `no versioned kernel package in: ${out}`);
  return match[1];
}

/** Downloads (once) and unpacks the kernel, returning vmlinuz and the ordered modules. */
export async function ensureKernel(): Promise<Kernel> {
  const pkg = await kernelPackage();
  const dir = await cachedDir(`kernel-${keyOf(RIG_VERSION, pkg, ...GUEST_MODULES)}`, (tmp) => buildKernel(tmp, pkg));
  const order = (await readFile(join(dir, 'modules.order'), 'utf8')).split('\n').filter(Boolean);
  return { dir, vmlinuz: join(dir, 'vmlinuz'), modules: order };
}

async function buildKernel(tmp: string, pkg: string): Promise<void> {
  // Stale package lists name a version the mirror no longer has: refresh them once and retry.
  await run('apt-get', ['download', pkg], { cwd: tmp }).catch(async () => {
    await run('apt-get', ['update', '-qq']);
    return run('apt-get', ['download', pkg], { cwd: tmp });
  });
  const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
  if (!deb) throw new CodedError('RIG_NO_KERNEL', `apt-get download ${pkg} left no .deb`);
  const root = join(tmp, 'root');
  await run('dpkg-deb', ['-x', join(tmp, deb), root]);
  const release = (await readdir(join(root, 'lib/modules')))[0];
  if (!release) throw new CodedError('RIG_NO_KERNEL', `${pkg} has no lib/modules`);
  await copyFile(join(root, 'boot', `vmlinuz-${release}`), join(tmp, 'vmlinuz'));
  const index = await indexModules(join(root, 'lib/modules', release, 'kernel'));
  const order = await resolveOrder(GUEST_MODULES, index);
  await mkdir(join(tmp, 'modules'));
  for (const name of order) await copyFile(index.get(name) ?? '', join(tmp, 'modules', `${name}.ko`));
  await writeFile(join(tmp, 'modules.order'), order.map((n) => `${n}.ko`).join('\n') + '\n');
  await writeFile(join(tmp, 'release'), `${pkg} ${release}\n`);
  await run('rm', ['-rf', root, join(tmp, deb)]);
}

/** Module name (dashes as underscores) → file path, for every .ko under `dir`. */
async function indexModules(dir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = entry.split('/').pop() ?? '';
    if (!file.endsWith('.ko')) {
      if (/\.ko\.(xz|zst|gz)$/.test(file)) throw new CodedError('RIG_COMPRESSED_MODULES', `compressed module ${entry}: teach the rig to unpack it`);
      continue;
    }
    index.set(file.slice(0, -3).replaceAll('-', '_'), join(dir, entry));
  }
  return index;
}

// Depth-first, dependencies before dependants, each module once.
async function resolveOrder(wanted: string[], index: Map<string, string>): Promise<string[]> {
  const order: string[] = [];
  const visit = async (name: string, path: string[]): Promise<void> => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new CodedError('RIG_MODULE_CYCLE', `module dependency cycle: ${[...path, name].join(' → ')}`);
    const file = index.get(name);
    if (!file) throw new CodedError('RIG_NO_MODULE', `kernel has no module ${name} (needed by ${path.join(' → ') || 'the rig'}); is it built in?`);
    const depends = (await run('modinfo', ['-F', 'depends', file])).split(',').map((d) => d.trim()).filter(Boolean);
    for (const dep of depends) await visit(dep.replaceAll('-', '_'), [...path, name]);
    order.push(name);
  };
  for (const name of wanted) await visit(name, []);
  return order;
}
