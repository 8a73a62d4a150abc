// installBundle into a slot: what lands on disk, in what order, and how an abort unwinds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { installBundle, loadTrust, createBundle, parsePrivateKey, isBundleError, generateKeyPair } from '../../../bundle/index.ts';
import { describeTree, tempDir, writeTree, type TreeSpec } from '../../fixtures/bundle/kit.ts';

const TREE: TreeSpec = {
  'bin/run': { mode: 0o755, content: '#!/bin/sh\necho hello\n' },
  'etc/secret.conf': { mode: 0o600, content: 'token=1\n' },
  'etc/readonly.conf': { mode: 0o444, content: 'ro\n' },
  'lib/empty': '',
  'lib/current': { symlink: '../bin/run' },
  'share/ünïcødé/名前.txt': 'utf-8 names\n',
  [`share/${'long-'.repeat(30)}/file.txt`]: 'a pax path\n',
  'var/empty-dir': { dir: true },
};

async function setup(t: Parameters<typeof tempDir>[0], gzip = false): Promise<{ dir: string; bundle: string; slot: string; trust: Awaited<ReturnType<typeof loadTrust>> }> {
  const dir = await tempDir(t);
  await writeTree(join(dir, 'app'), TREE);
  const pair = generateKeyPair('ed25519');
  await writeFile(join(dir, 'pub.pem'), pair.publicPem);
  const bundle = join(dir, gzip ? 'b.tar.gz' : 'b.tar');
  const spec = { name: 'demo', version: '1.2.3', compatible: [], entrypoint: { command: ['bin/run'] }, createdAt: '2026-01-01T00:00:00Z' };
  await createBundle(join(dir, 'app'), spec, parsePrivateKey(pair.privatePem, 'test').key, bundle, { gzip });
  const slot = join(dir, 'slot');
  await mkdir(slot);
  return { dir, bundle, slot, trust: await loadTrust(join(dir, 'pub.pem')) };
}

for (const gzip of [false, true]) {
  test(`a ${gzip ? 'gzip ' : ''}bundle installs the exact tree, modes and symlinks, with manifest.json and manifest.sig`, async (t) => {
    const { dir, bundle, slot, trust } = await setup(t, gzip);
    const result = await installBundle(createReadStream(bundle), { targetDir: slot, trust });
    const installed = (await describeTree(slot)).filter((file) => !['manifest.json', 'manifest.sig'].includes(file.path));
    assert.deepEqual(installed, await describeTree(join(dir, 'app')));
    assert.deepEqual(result.manifest.files, installed);
    const manifestBytes = await readFile(join(slot, 'manifest.json'));
    assert.equal(result.manifestSha256, createHash('sha256').update(manifestBytes).digest('hex'));
    assert.equal((await lstat(join(slot, 'manifest.sig'))).size, 64);
    assert.equal(await readlink(join(slot, 'lib/current')), '../bin/run');
    assert.equal(result.compressed, gzip);
    assert.equal(result.bytes, (await lstat(bundle)).size);
  });
}

test('the source may be any async iterable of bytes, in chunks of any size', async (t) => {
  const { bundle, slot, trust } = await setup(t);
  const bytes = await readFile(bundle);
  async function* dribble(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += 333) {
      await Promise.resolve();
      yield new Uint8Array(bytes.subarray(offset, offset + 333));
    }
  }
  const result = await installBundle(dribble(), { targetDir: slot, trust });
  assert.equal(result.manifest.name, 'demo');
  assert.ok((await readdir(slot)).includes('manifest.json'));
});

test('BUNDLE_TARGET_NOT_EMPTY: a slot that was not emptied is refused and left as it was', async (t) => {
  const { bundle, slot, trust } = await setup(t);
  await writeFile(join(slot, 'leftover'), 'from before\n');
  await assert.rejects(installBundle(createReadStream(bundle), { targetDir: slot, trust }), (err) => isBundleError(err, 'BUNDLE_TARGET_NOT_EMPTY'));
  assert.deepEqual(await readdir(slot), ['leftover']);
});

test('BUNDLE_ABORTED: an abort in the middle of the payload stops the install and empties the slot', async (t) => {
  const { bundle, slot, trust } = await setup(t);
  const bytes = await readFile(bundle);
  const source = new PassThrough();
  const controller = new AbortController();
  const install = installBundle(source, { targetDir: slot, trust, signal: controller.signal });
  source.write(bytes.subarray(0, Math.floor(bytes.length / 2))); // the rest never comes
  for (let i = 0; i < 500 && !(await readdir(slot)).includes('bin'); i += 1) await new Promise((r) => setTimeout(r, 10));
  assert.ok((await readdir(slot)).includes('bin'), 'the install had started writing the payload');
  controller.abort(new Error('job canceled'));
  await assert.rejects(install, (err) => isBundleError(err, 'BUNDLE_ABORTED'));
  assert.deepEqual(await readdir(slot), []);
  assert.ok(source.destroyed, 'the source stream was released');
});

test('BUNDLE_ABORTED: an already aborted signal writes nothing', async (t) => {
  const { bundle, slot, trust } = await setup(t);
  await assert.rejects(installBundle(createReadStream(bundle), { targetDir: slot, trust, signal: AbortSignal.abort() }), (err) => isBundleError(err, 'BUNDLE_ABORTED'));
  assert.deepEqual(await readdir(slot), []);
});

test('a bundle installs into a slot whose directories are read-only in the manifest', async (t) => {
  const dir = await tempDir(t);
  await writeTree(join(dir, 'app'), { 'ro/inner/file': { mode: 0o444, content: 'x\n' } });
  await execa('chmod', ['0555', join(dir, 'app/ro/inner'), join(dir, 'app/ro')]);
  const pair = generateKeyPair('ecdsa-p256');
  await writeFile(join(dir, 'pub.pem'), pair.publicPem);
  const spec = { name: 'ro', version: '0.0.1', compatible: [], entrypoint: { command: ['x'] }, createdAt: '2026-01-01T00:00:00Z' };
  await createBundle(join(dir, 'app'), spec, parsePrivateKey(pair.privatePem, 'test').key, join(dir, 'b.tar'), { gzip: false });
  await mkdir(join(dir, 'slot'));
  await installBundle(createReadStream(join(dir, 'b.tar')), { targetDir: join(dir, 'slot'), trust: await loadTrust(join(dir, 'pub.pem')) });
  assert.equal((await lstat(join(dir, 'slot/ro'))).mode & 0o777, 0o555);
  assert.equal(await readFile(join(dir, 'slot/ro/inner/file'), 'utf8'), 'x\n');
});

test('BUNDLE_IO_ERROR: a source that fails mid-stream, and a slot directory that does not exist', async (t) => {
  const { bundle, slot, trust, dir } = await setup(t);
  const bytes = await readFile(bundle);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(bytes.subarray(0, 8192));
    await Promise.resolve();
    throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
  }
  await assert.rejects(installBundle(failing(), { targetDir: slot, trust }), (err) => isBundleError(err, 'BUNDLE_IO_ERROR') && /EIO/.test(err.message));
  assert.deepEqual(await readdir(slot), []);
  await assert.rejects(installBundle(createReadStream(bundle), { targetDir: join(dir, 'no-such-slot'), trust }), (err) => isBundleError(err, 'BUNDLE_IO_ERROR'));
});
