// The VM's cached images: the initramfs (busybox, modules, /init) and the root disk (busybox,
// a glibc Node 24 runtime, busybox init and the rig's boot scripts). Both are keyed by every
// input, so they are built once and reused until an input changes.

import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cachedDir, fileDigest, keyOf, RIG_VERSION } from './cache.ts';
import { makeExt4 } from './disk.ts';
import { run } from './exec.ts';
import { BOOT_PAYLOAD, CTL_AGENT, INITRAMFS_INIT, INITTAB, RCS } from './guest-scripts.ts';
import { ensureKernel, type Kernel } from './kernel.ts';

export interface GuestImages {
  kernel: Kernel;
  initramfs: string;
  /** Read-only template of the root disk; each VM boots a private copy. */
  rootImage: string;
  /** The host's busybox (static), also used to relay guestfwd connections. */
  busybox: string;
}

const ROOT_SIZE_MB = 1024;
// Libraries that `ldd node` does not list: name service lookups (dlopened by glibc) and what
// native addons load (aws-crt needs librt).
const EXTRA_LIBS = ['/lib/x86_64-linux-gnu/libnss_files.so.2', '/lib/x86_64-linux-gnu/libnss_dns.so.2', '/lib/x86_64-linux-gnu/libresolv.so.2', '/lib/x86_64-linux-gnu/librt.so.1'];

/** Builds (or finds in the cache) everything a VM boots from. `node` is the guest's runtime. */
export async function ensureImages(node: string): Promise<GuestImages> {
  const kernel = await ensureKernel();
  const busybox = await busyboxPath();
  const busyboxDigest = await fileDigest(busybox);
  const initKey = keyOf(RIG_VERSION, kernel.dir, busyboxDigest, INITRAMFS_INIT);
  const initDir = await cachedDir(`initramfs-${initKey}`, (tmp) => buildInitramfs(tmp, kernel, busybox));
  const rootKey = keyOf(RIG_VERSION, busyboxDigest, await fileDigest(node), INITTAB, RCS, BOOT_PAYLOAD, CTL_AGENT, ...EXTRA_LIBS, await fileDigest('/usr/bin/getent'));
  const rootDir = await cachedDir(`root-${rootKey}`, (tmp) => buildRoot(tmp, busybox, node));
  return { kernel, initramfs: join(initDir, 'initramfs.cpio'), rootImage: join(rootDir, 'root.img'), busybox };
}

async function busyboxPath(): Promise<string> {
  return (await run('sh', ['-c', 'command -v busybox'])).trim();
}

async function buildInitramfs(tmp: string, kernel: Kernel, busybox: string): Promise<void> {
  const tree = join(tmp, 'tree');
  await mkdir(join(tree, 'bin'), { recursive: true });
  await mkdir(join(tree, 'lib/modules'), { recursive: true });
  await copyFile(busybox, join(tree, 'bin/busybox'));
  for (const m of kernel.modules) await copyFile(join(kernel.dir, 'modules', m), join(tree, 'lib/modules', m));
  await writeFile(join(tree, 'modules.order'), kernel.modules.join('\n') + '\n');
  await writeFile(join(tree, 'init'), INITRAMFS_INIT, { mode: 0o755 });
  // Uncompressed: unpacking gzip costs more under TCG than reading a few more MiB.
  await run('sh', ['-c', 'find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > ../initramfs.cpio'], { cwd: tree });
  await run('rm', ['-rf', tree]);
}

async function buildRoot(tmp: string, busybox: string, node: string): Promise<void> {
  const tree = join(tmp, 'tree');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'etc/rig', 'etc/twinslot', 'var/lib/twinslot',
    'proc', 'sys', 'dev', 'run', 'tmp', 'data', 'payload', 'root', 'opt']) {
    await mkdir(join(tree, d), { recursive: true });
  }
  await copyFile(busybox, join(tree, 'bin/busybox'));
  for (const applet of (await run(busybox, ['--list-full'])).split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    await mkdir(dirname(join(tree, applet)), { recursive: true });
    await symlink('/bin/busybox', join(tree, applet)).catch(() => undefined);
  }
  // glibc's getent: twinslot resolves users and groups through NSS with it (busybox has none).
  await copyFile('/usr/bin/getent', join(tree, 'usr/bin/getent'));
  await chmod(join(tree, 'usr/bin/getent'), 0o755);
  await copyFile(node, join(tree, 'usr/local/bin/node'));
  await chmod(join(tree, 'usr/local/bin/node'), 0o755);
  for (const lib of [...await sharedLibraries(node), ...EXTRA_LIBS]) {
    await mkdir(dirname(join(tree, lib)), { recursive: true });
    await copyFile(lib, join(tree, lib));
  }
  await writeEtc(tree);
  await makeExt4(join(tmp, 'root.img'), tree, ROOT_SIZE_MB, 'twinslot-root');
  await run('rm', ['-rf', tree]);
}

/** Absolute paths of the shared libraries `binary` needs, from ldd. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await run('ldd', [binary]);
  const libs = [...out.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
  // ldd names the loader by its canonical path; the binary asks for /lib64/ld-linux-x86-64.so.2.
  return [...new Set(libs)];
}

async function writeEtc(tree: string): Promise<void> {
  const files: Record<string, [string, number]> = {
    'etc/inittab': [INITTAB, 0o644],
    'etc/rig/rcS': [RCS, 0o755],
    'etc/rig/ctl-agent': [CTL_AGENT, 0o755],
    'etc/rig/boot-payload': [BOOT_PAYLOAD, 0o755],
    'etc/passwd': ['root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n', 0o644],
    'etc/group': ['root:x:0:\nnogroup:x:65534:\n', 0o644],
    'etc/hosts': ['127.0.0.1 localhost twinslot-vm\n::1 localhost\n', 0o644],
    'etc/nsswitch.conf': ['passwd: files\ngroup: files\nhosts: files dns\n', 0o644],
    'etc/resolv.conf': ['nameserver 10.0.2.3\n', 0o644],
    'etc/profile': ['export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n', 0o644],
  };
  for (const [path, [text, mode]] of Object.entries(files)) await writeFile(join(tree, path), text, { mode });
}

