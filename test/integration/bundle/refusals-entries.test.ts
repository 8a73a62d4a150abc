// Hostile payload entries behind a valid, openssl-signed manifest: each is refused with its
// own code before it can touch the slot. Archives by GNU tar; python3's tarfile only for
// entries GNU tar cannot make from a real tree.

import { test } from 'node:test';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { gnuTar, pythonTar } from '../../fixtures/bundle/kit.ts';
import { assertRefused } from '../../fixtures/bundle/refusal.ts';
import { scene } from '../../fixtures/bundle/scene.ts';

test('BUNDLE_ENTRY_NOT_IN_MANIFEST: an extra file the manifest does not list', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await writeFile(join(s.payload, 'smuggled'), 'not signed\n');
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'smuggled']);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_NOT_IN_MANIFEST', { message: /smuggled/ });
});

test('BUNDLE_FILE_MISSING: a listed file is not in the archive', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths.filter((path) => path !== 'lib/data.txt'));
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_FILE_MISSING', { message: /lib\/data\.txt/ });
});

test('BUNDLE_CHECKSUM_MISMATCH: same size, different bytes', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await writeFile(join(s.payload, 'lib/data.txt'), 'SOME DATA\n');
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_CHECKSUM_MISMATCH', { message: /lib\/data\.txt/ });
});

test('BUNDLE_SIZE_MISMATCH: a file larger than the manifest says', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await writeFile(join(s.payload, 'lib/data.txt'), 'some data, and a lot more than was signed\n');
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SIZE_MISMATCH', { message: /lib\/data\.txt/ });
});

test('BUNDLE_PATH_ABSOLUTE: an absolute member name (tar -P)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, join(s.payload, 'lib/data.txt')], { extra: ['-P'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_PATH_ABSOLUTE');
});

test('BUNDLE_PATH_TRAVERSAL: "../" in a member name (tar -P --transform)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/data.txt'], { extra: ['-P', '--transform', 's,^lib/data.txt$,../../escaped,'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_PATH_TRAVERSAL', { message: /\.\.\/\.\.\/escaped/ });
});

test('BUNDLE_PATH_TRAVERSAL: a pax "path" record that overrides a harmless ustar name (python tarfile)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'harmless', type: 'file', data: 'x', pax: { path: '../../escaped' } }]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_PATH_TRAVERSAL');
});

test('BUNDLE_SYMLINK_ESCAPE: a symlink to ../../../etc/passwd', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await execa('ln', ['-s', '../../../etc/passwd', join(s.payload, 'lib/passwd')]);
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/passwd']);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SYMLINK_ESCAPE', { message: /lib\/passwd/ });
});

test('BUNDLE_SYMLINK_ESCAPE: a symlink to an absolute path', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await execa('ln', ['-s', '/etc', join(s.payload, 'etc')]);
  await gnuTar(s.at('b.tar'), head, s.payload, ['etc', ...s.paths]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SYMLINK_ESCAPE');
});

test('BUNDLE_HARDLINK: a hard link, as GNU tar stores the second name of a linked file', async (t) => {
  const s = await scene(t);
  await link(join(s.payload, 'lib/data.txt'), join(s.payload, 'lib/again.txt'));
  const data = s.files.find((file) => file.path === 'lib/data.txt');
  if (data?.type !== 'file') throw new Error('fixture');
  const files = [...s.files, { ...data, path: 'lib/again.txt' }];
  const head = await s.head(s.manifest({}, files));
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/again.txt']);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_HARDLINK', { message: /lib\/again\.txt/ });
});

test('BUNDLE_HARDLINK: a hard link to a path outside the archive (python tarfile)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'shadow', type: 'hardlink', target: '/etc/shadow' }]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_HARDLINK');
});

test('BUNDLE_DEVICE_NODE: a character device (GNU tar of /dev/null)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, '/', ['dev/null'], { extra: ['--transform', 's,^dev/null$,lib/null,'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_DEVICE_NODE', { message: /lib\/null/ });
});

test('BUNDLE_DEVICE_NODE: a block device (python tarfile)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'sda', type: 'blk' }]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_DEVICE_NODE');
});

test('BUNDLE_FIFO: a named pipe (mkfifo + GNU tar)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await execa('mkfifo', [join(s.payload, 'lib/pipe')]);
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/pipe']);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_FIFO', { message: /lib\/pipe/ });
});

test('BUNDLE_DUPLICATE_ENTRY: the same file twice (GNU tar --hard-dereference given it twice)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/data.txt'], { extra: ['--hard-dereference'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_DUPLICATE_ENTRY', { message: /lib\/data\.txt/ });
});

test('BUNDLE_DUPLICATE_ENTRY: a payload entry named manifest.json (GNU tar --transform)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'lib/data.txt'], { extra: ['--transform', 's,^lib/data.txt$,manifest.json,'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_DUPLICATE_ENTRY');
});

test('BUNDLE_NAME_NOT_UTF8: a member name with the byte 0xff (GNU tar)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  const bad = Buffer.concat([Buffer.from(join(s.payload, 'lib/bad')), Buffer.from([0xff])]);
  await writeFile(bad, 'x');
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await execa('sh', ['-c', 'cd "$1" && tar --format=gnu -rf "$2" lib/bad*', 'sh', s.payload, s.at('b.tar')]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_NAME_NOT_UTF8');
});

test('BUNDLE_NAME_NOT_UTF8: a non-UTF-8 pax path (python tarfile, hdrcharset=BINARY)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'caf\udce9', type: 'file', data: 'x' }], 'pax');
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_NAME_NOT_UTF8');
});

test('BUNDLE_ENTRY_TYPE_UNSUPPORTED: a GNU sparse file (tar --sparse)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await mkdir(join(s.payload, 'sparse'));
  await execa('truncate', ['-s', '8M', join(s.payload, 'sparse/holes')]);
  await execa('sh', ['-c', `printf end >> "${join(s.payload, 'sparse/holes')}"`]);
  await gnuTar(s.at('b.tar'), head, s.payload, [...s.paths, 'sparse/holes'], { extra: ['--sparse'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_TYPE_UNSUPPORTED');
});

test('BUNDLE_ENTRY_TYPE_UNSUPPORTED: a contiguous file (python tarfile)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'contig', type: 'cont', data: 'x' }], 'gnu');
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_TYPE_UNSUPPORTED');
});

test('BUNDLE_ENTRY_TYPE_UNSUPPORTED: a pax record larger than 64 KiB (python tarfile)', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({}, []));
  await pythonTar(s.at('b.tar'), head, [{ name: 'padded', type: 'file', data: 'x', pax: { comment: 'c'.repeat(100_000) } }]);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_TYPE_UNSUPPORTED', { message: /record larger than/ });
});

test('BUNDLE_ENTRY_MISMATCH: a directory where the manifest lists a file', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await mkdir(join(s.dir, 'other/lib/data.txt'), { recursive: true });
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths.filter((p) => p !== 'lib/data.txt'));
  await execa('tar', ['--format=gnu', '--no-recursion', '-rf', s.at('b.tar'), '-C', join(s.dir, 'other'), 'lib/data.txt']);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_MISMATCH', { message: /lib\/data\.txt/ });
});

test('BUNDLE_ENTRY_MISMATCH: a symlink pointing elsewhere than the manifest says', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await execa('ln', ['-sfn', '../bin/run', join(s.payload, 'lib/current')]);
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_ENTRY_MISMATCH', { message: /lib\/current/ });
});
