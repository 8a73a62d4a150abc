// Atomic replacement: readers see old or new content, temp files never linger, symlinks flip.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, readlink, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTempsSync, replaceSymlink, replaceSymlinkSync, writeFileAtomic, writeFileAtomicSync } from '../../../common/durable-file.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-durable-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('writeFileAtomicSync replaces content and leaves no temp file', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'state.json');
  writeFileAtomicSync(target, '{"v":1}');
  writeFileAtomicSync(target, '{"v":2}', 0o600);
  assert.equal(await readFile(target, 'utf8'), '{"v":2}');
  assert.equal((await stat(target)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('writeFileAtomic replaces content and leaves no temp file', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'journal.json');
  await writeFileAtomic(target, Buffer.from('one'));
  await writeFileAtomic(target, 'two');
  assert.equal(await readFile(target, 'utf8'), 'two');
  assert.deepEqual(await readdir(dir), ['journal.json']);
});

test('a failed rename leaves the target untouched and no temp file', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'busy');
  await mkdir(target);
  writeFileAtomicSync(join(target, 'inside'), 'kept');
  assert.throws(() => writeFileAtomicSync(target, 'new'), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'ENOTEMPTY');
  assert.equal(await readFile(join(target, 'inside'), 'utf8'), 'kept');
  assert.deepEqual(await readdir(dir), ['busy']);
});

test('a write into a missing directory fails with ENOENT and creates nothing', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'f'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dir), []);
});

test('replaceSymlink flips an existing link atomically', async (t) => {
  const dir = await tempDir(t);
  const link = join(dir, 'current');
  replaceSymlinkSync('slots/a', link);
  assert.equal(await readlink(link), 'slots/a');
  await replaceSymlink('slots/b', link);
  assert.equal(await readlink(link), 'slots/b');
  assert.deepEqual(await readdir(dir), ['current']);
});

// A device boots the same way every time, so the process restarted after a power cut often has
// the pid (and the counter) of the one whose temp file the cut left behind.
const OLD_SCHEME_LEFTOVERS = 2000;

async function leaveOldSchemeTemps(dir: string, name: string): Promise<string[]> {
  const names = Array.from({ length: OLD_SCHEME_LEFTOVERS }, (_, i) => `.${name}.tmp-${process.pid}-${i + 1}`);
  for (const leftover of names) await writeFile(join(dir, leftover), 'half-written');
  return names;
}

test('temp files a power cut left under this pid do not block later writes', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'state.json');
  const leftovers = await leaveOldSchemeTemps(dir, 'state.json');
  for (let i = 0; i < 5; i += 1) {
    writeFileAtomicSync(target, `{"sync":${i}}`);
    assert.equal(await readFile(target, 'utf8'), `{"sync":${i}}`);
    await writeFileAtomic(target, `{"async":${i}}`);
    assert.equal(await readFile(target, 'utf8'), `{"async":${i}}`);
  }
  const names = await readdir(dir);
  assert.equal(names.length, leftovers.length + 1, 'only the target was added');
  for (const leftover of leftovers.slice(0, 20)) assert.equal(await readFile(join(dir, leftover), 'utf8'), 'half-written');
});

test('removeStaleTempsSync removes old- and new-scheme leftovers and nothing else', async (t) => {
  const dir = await tempDir(t);
  const leftovers = await leaveOldSchemeTemps(dir, 'state.json');
  const newScheme = '.job-1.1.json.tmp-168-3-0a1b2c3d';
  const kept = ['state.json', 'state.json.bak', '.hidden', '.state.json', 'job-1.1.json', 'x.tmp-1-1', '.state.json.tmp-', '.a.tmp-1-1-XYZ', 'job-1.1.json.corrupt-1700000000000'];
  for (const name of [newScheme, ...kept]) await writeFile(join(dir, name), name);
  const removed = removeStaleTempsSync(dir);
  assert.deepEqual(removed.sort(), [...leftovers, newScheme].sort());
  assert.deepEqual((await readdir(dir)).sort(), [...kept].sort());
  for (const name of kept) assert.equal(await readFile(join(dir, name), 'utf8'), name, name);
  assert.deepEqual(removeStaleTempsSync(dir), [], 'nothing left to remove');
});
