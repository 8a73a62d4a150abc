// startTestVm(t): a VM for one node:test test, with its own run directory (disks, serial
// console, QEMU's output). Passed → the directory is removed. Failed → the serial console is
// kept, and its path and tail are printed where CI shows them.

import type { TestContext } from 'node:test';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CACHE_DIR } from './cache.ts';
import { copyImage, makeExt4 } from './disk.ts';
import { ensureImages } from './images.ts';
import { CHECKOUT_NODE } from './paths.ts';
import type { Forward, WatchdogAction } from './qemu-args.ts';
import { quote, Vm } from './vm.ts';

const DATA_SIZE_MB = 64;
const TAIL_LINES = 80;

export interface TestVmOptions {
  /** Files on the data disk, by path below its root: 'etc/twinslot/config.json', 'var/lib/twinslot/...'. */
  data?: Record<string, string | Buffer>;
  /** Shell script run at every boot (like a service manager would start services); on the data disk. */
  bootScript?: string;
  /** A read-only ext4 image mounted at /payload (its boot.sh, if any, runs at every boot). */
  payloadImage?: string;
  forwards?: Forward[];
  /**
   * Host loopback ports the guest reaches at the same 127.0.0.1:<port>: endpoints, presigned
   * URLs and TLS certificates made for the host's loopback then work unchanged in the VM.
   */
  loopback?: number[];
  memoryMb?: number;
  watchdogAction?: WatchdogAction;
  /** Guest files whose tail is printed with the serial console when the test fails. */
  collectOnFailure?: string[];
}

// `passed` exists on node:test's TestContext since Node 21 but not yet in @types/node.
type Context = Pick<TestContext, 'name' | 'after'>;

function passed(t: Context): boolean {
  return (t as Context & { passed?: unknown }).passed === true;
}

/** Boots a VM for test `t` and returns it once the guest's control agent answered. */
export async function startTestVm(t: Context, options: TestVmOptions = {}): Promise<Vm> {
  const images = await ensureImages(CHECKOUT_NODE);
  const slug = t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 48);
  const runDir = join(CACHE_DIR, 'runs', `${slug}-${Date.now()}`);
  await mkdir(runDir, { recursive: true });
  // Unix socket paths are limited to 108 bytes: keep them short, outside the checkout.
  const sockDir = await mkdtemp(join(tmpdir(), 'twinslot-vm-'));
  const dataTree = join(runDir, 'data-tree');
  await mkdir(join(dataTree, 'etc/twinslot'), { recursive: true });
  await mkdir(join(dataTree, 'var/lib/twinslot'), { recursive: true });
  const loopback = options.loopback ?? [];
  const files = {
    ...options.data,
    ...(options.bootScript ? { 'rig/boot.sh': options.bootScript } : {}),
    ...(loopback.length ? { 'rig/loopback': `${loopback.join('\n')}\n` } : {}),
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dataTree, path)), { recursive: true });
    await writeFile(join(dataTree, path), content);
  }
  const setup = {
    images,
    rootDisk: join(runDir, 'root.img'),
    dataDisk: join(runDir, 'data.img'),
    payloadImage: options.payloadImage,
    consoleLog: join(runDir, 'console.log'),
    qmpSocket: join(sockDir, 'qmp'),
    controlSocket: join(sockDir, 'ctl'),
    forwards: [...(options.forwards ?? []), ...loopback.map((port) => ({ guestPort: port, hostPort: port }))],
    relay: images.busybox,
    memoryMb: options.memoryMb ?? 768,
    watchdogAction: options.watchdogAction ?? 'reset',
  };
  await copyImage(images.rootImage, setup.rootDisk);
  await makeExt4(setup.dataDisk, dataTree, DATA_SIZE_MB, 'twinslot-data');
  const vm = new Vm(setup, join(runDir, 'qemu.log'));
  t.after(() => finish(t, vm, runDir, sockDir, options.collectOnFailure ?? []));
  await vm.start();
  return vm;
}

async function finish(t: Context, vm: Vm, runDir: string, sockDir: string, collect: string[]): Promise<void> {
  const guestFiles = passed(t) ? '' : await collectGuestFiles(vm, collect);
  await vm.dispose();
  await rm(sockDir, { recursive: true, force: true });
  if (passed(t)) {
    await rm(runDir, { recursive: true, force: true });
    return;
  }
  // Keep the logs and the small data disk; the root disk copy is large and rebuilt anyway.
  await rm(vm.setup.rootDisk, { force: true });
  const console_ = await readFile(vm.setup.consoleLog, 'utf8').catch(() => '(no console output)');
  const qemu = await readFile(vm.qemuLog, 'utf8').catch(() => '');
  const tail = console_.split('\n').slice(-TAIL_LINES).join('\n');
  process.stderr.write(`\n=== system test "${t.name}" failed; logs kept in ${runDir}\n` +
    `=== serial console ${vm.setup.consoleLog} (last ${TAIL_LINES} lines):\n${tail}\n` +
    guestFiles +
    (qemu.trim() ? `=== QEMU output ${vm.qemuLog}:\n${qemu.slice(-4000)}\n` : '') + '=== end of logs\n');
}

// Tails of guest files, read while the guest still answers (a hung guest gets a short deadline).
async function collectGuestFiles(vm: Vm, paths: string[]): Promise<string> {
  let out = '';
  for (const path of paths) {
    const r = vm.running ? await vm.exec(`tail -n ${TAIL_LINES} ${quote(path)}`, 20_000).catch((err: unknown) => ({ stdout: '', stderr: String(err) })) : { stdout: '', stderr: 'VM not running' };
    out += `=== guest ${path}:\n${r.stdout}${r.stderr}\n`;
  }
  return out;
}
