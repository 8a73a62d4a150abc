// Read-only payload disks mounted at /payload in the guest. twinslotSourcePayload() holds the
// checkout's twinslot (sources and runtime node_modules) at /payload/twinslot, so the guest runs
// `node /payload/twinslot/bin/twinslot.js ...` exactly as the host does.

import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { cachedDir, fileDigest, keyOf, RIG_VERSION } from './cache.ts';
import { makeExt4 } from './disk.ts';
import { run } from './exec.ts';
import { REPO_ROOT } from './paths.ts';

/** Where the checkout appears inside the guest. */
export const GUEST_TWINSLOT = '/payload/twinslot';

const SOURCE_DIRS = ['bin', 'cli', 'common', 'slots', 'ipc', 'bundle', 'agent', 'supervisor', 'emulator', 'installer', 'jobs-documents', 'test/fixtures', 'test/system/guest'];
const SOURCE_FILES = ['package.json'];
// Build and lint tooling the device never runs, and the host's Node (the guest has its own).
const DEV_ONLY = new Set(['node', 'typescript', 'eslint', '@eslint', '@typescript-eslint', 'typescript-eslint', '@types', '.bin', '.cache']);

/** A cached image of the checkout's twinslot; rebuilt when a source file or the lockfile changes. */
export async function twinslotSourcePayload(): Promise<string> {
  const key = keyOf(RIG_VERSION, await fileDigest(join(REPO_ROOT, 'package-lock.json')), await sourceFingerprint());
  const dir = await cachedDir(`payload-src-${key}`, async (tmp) => {
    const tree = join(tmp, 'tree', 'twinslot');
    await mkdir(tree, { recursive: true });
    for (const d of [...SOURCE_DIRS, ...SOURCE_FILES]) {
      await cp(join(REPO_ROOT, d), join(tree, d), { recursive: true, verbatimSymlinks: true }).catch(ignoreMissing);
    }
    for (const entry of await readdir(join(REPO_ROOT, 'node_modules'))) {
      if (DEV_ONLY.has(entry) || entry.startsWith('eslint')) continue;
      await cp(join(REPO_ROOT, 'node_modules', entry), join(tree, 'node_modules', entry), { recursive: true, verbatimSymlinks: true });
    }
    const kib = Number((await run('du', ['-sk', join(tmp, 'tree')])).split('\t')[0]);
    await makeExt4(join(tmp, 'payload.img'), join(tmp, 'tree'), Math.ceil((kib * 1.3) / 1024) + 32, 'twinslot-src');
    await run('rm', ['-rf', join(tmp, 'tree')]);
  });
  return join(dir, 'payload.img');
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** Path, size and mtime of every source file: cheap, and changes whenever a file is edited. */
export async function sourceFingerprint(): Promise<string> {
  const parts: string[] = [];
  for (const d of [...SOURCE_DIRS, ...SOURCE_FILES]) {
    const base = join(REPO_ROOT, d);
    const top = await stat(base).catch(() => null);
    if (!top) continue;
    const entries = top.isDirectory() ? (await readdir(base, { recursive: true })).map((e) => join(base, e)) : [base];
    for (const file of entries.sort()) {
      const s = await stat(file);
      if (s.isFile()) parts.push(`${relative(REPO_ROOT, file)}:${s.size}:${s.mtimeMs}`);
    }
  }
  return keyOf(...parts);
}
