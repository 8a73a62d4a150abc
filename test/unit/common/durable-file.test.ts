// Atomic replacement: readers see old or new content, temp files never linger, symlinks flip.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, readlink, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceSymlink, replaceSymlinkSync, writeFileAtomic, writeFileAtomicSync } from '../../../common/durable-file.ts';

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
