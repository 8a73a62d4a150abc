// Bundles signed outside twinslot: openssl keys and signatures (ECDSA P-256 and Ed25519), the
// README's exact commands, archives assembled by GNU tar in every format, and trust stores
// made of certificates and directories.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { installBundle, verifyBundle, loadTrust } from '../../../bundle/index.ts';
import { gnuTar, opensslKeyId, opensslSign, twinslot, type TarFormat } from '../../fixtures/bundle/kit.ts';
import { scene } from '../../fixtures/bundle/scene.ts';

for (const algorithm of ['ecdsa', 'ed25519'] as const) {
  test(`an openssl-signed manifest (${algorithm}) assembled by twinslot, and by GNU tar as the README says, verifies with the CLI`, async (t) => {
    const s = await scene(t);
    const { key, pub } = s.keys[algorithm];
    const args = [s.payload, '--name', 'demo', '--version', '2.0.0', '--entry', 'bin/run'];
    const made = await twinslot(['bundle', 'create', ...args, '--manifest-only', '--signer', pub, '-o', 'manifest.json'], s.dir);
    assert.equal(made.exitCode, 0, made.stderr);
    // The README's commands, verbatim.
    if (algorithm === 'ecdsa') await execa('openssl', ['dgst', '-sha256', '-sign', key, '-out', 'manifest.sig', 'manifest.json'], { cwd: s.dir });
    else await execa('openssl', ['pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', 'manifest.json', '-out', 'manifest.sig'], { cwd: s.dir });
    const assembled = await twinslot(['bundle', 'create', s.payload, '--manifest', 'manifest.json', '--signature', 'manifest.sig', '-o', 'b.tar'], s.dir);
    assert.equal(assembled.exitCode, 0, assembled.stderr);
    const verified = await twinslot(['bundle', 'verify', 'b.tar', '--trust', pub, '--json'], s.dir);
    assert.equal(verified.exitCode, 0, verified.stderr);
    const result = JSON.parse(verified.stdout) as { ok: boolean; keyId: string; version: string };
    assert.deepEqual([result.ok, result.keyId, result.version], [true, await opensslKeyId(pub), '2.0.0']);

    // The README's GNU tar assembly (the list jq would write: every manifest path, NUL-terminated).
    const manifest = JSON.parse(await readFile(s.at('manifest.json'), 'utf8')) as { files: { path: string }[] };
    await writeFile(s.at('files.lst'), manifest.files.map((file) => `${file.path}\0`).join(''));
    await execa('tar', ['--format=pax', '--owner=0', '--group=0', '--numeric-owner', '--no-recursion', '--hard-dereference',
      '-cf', 'gnu.tar', 'manifest.json', 'manifest.sig', '-C', s.payload, '--null', '--verbatim-files-from', '-T', s.at('files.lst')], { cwd: s.dir });
    const viaGnuTar = await twinslot(['bundle', 'verify', 'gnu.tar', '--trust', pub], s.dir);
    assert.equal(viaGnuTar.exitCode, 0, viaGnuTar.stderr);
  });
}

for (const format of ['gnu', 'pax', 'ustar'] as TarFormat[]) {
  test(`a bundle assembled by GNU tar --format=${format} from openssl-signed heads verifies and installs`, async (t) => {
    const s = await scene(t, {
      'bin/run': { mode: 0o755, content: '#!/bin/sh\n' },
      [`share/très-long-nom/${'n'.repeat(90)}/data.txt`]: 'deep\n',
      'lib/current': { symlink: '../bin/run' },
    });
    for (const algorithm of ['ecdsa', 'ed25519'] as const) {
      const head = await s.head(s.manifest({ keyId: await opensslKeyId(s.keys[algorithm].pub) }), s.keys[algorithm].key);
      await gnuTar(s.at(`${algorithm}.tar`), head, s.payload, s.paths, { format });
      const trust = await loadTrust(s.keys[algorithm].pub);
      const verified = await verifyBundle(createReadStream(s.at(`${algorithm}.tar`)), trust);
      assert.equal(verified.manifest.files.length, s.files.length);
      const slot = s.at(`slot-${algorithm}`);
      await mkdir(slot);
      const installed = await installBundle(createReadStream(s.at(`${algorithm}.tar`)), { targetDir: slot, trust });
      assert.equal(installed.keyId, await opensslKeyId(s.keys[algorithm].pub));
      assert.equal(await readFile(join(slot, s.paths.find((p) => p.endsWith('data.txt')) ?? ''), 'utf8'), 'deep\n');
    }
  });
}

test('a self-signed certificate and a directory of PEM files work as trust stores', async (t) => {
  const s = await scene(t);
  const trustDir = s.at('trust');
  await mkdir(trustDir);
  await execa('openssl', ['req', '-new', '-x509', '-key', s.keys.ecdsa.key, '-subj', '/CN=twinslot release', '-days', '1', '-out', join(trustDir, 'release.pem')]);
  await copyFile(s.keys.ed25519.pub, join(trustDir, 'other.pem'));
  await writeFile(join(trustDir, 'broken.pem'), 'not a key\n');
  await writeFile(join(trustDir, 'README'), 'ignored: not *.pem\n');
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);

  const viaCert = await twinslot(['bundle', 'verify', 'b.tar', '--trust', join(trustDir, 'release.pem')], s.dir);
  assert.equal(viaCert.exitCode, 0, viaCert.stderr);
  const viaDir = await twinslot(['bundle', 'verify', 'b.tar', '--trust', trustDir], s.dir);
  assert.equal(viaDir.exitCode, 0, viaDir.stderr);
  assert.match(viaDir.stderr, /warning: trust: .*broken\.pem/);
  assert.equal((await loadTrust(trustDir)).keys.length, 2);
});

test('a key made by `bundle keygen` is used by openssl as is, and its key id matches openssl', async (t) => {
  const s = await scene(t);
  for (const type of ['ecdsa-p256', 'ed25519']) {
    const made = await twinslot(['bundle', 'keygen', '--type', type, '--out', `${type}.pem`, '--json'], s.dir);
    assert.equal(made.exitCode, 0, made.stderr);
    const { publicKey, keyId } = JSON.parse(made.stdout) as { publicKey: string; keyId: string };
    assert.equal(keyId, await opensslKeyId(publicKey));
    const head = await s.head(s.manifest({ keyId }), s.at(`${type}.pem`));
    await gnuTar(s.at(`${type}.tar`), head, s.payload, s.paths);
    const verified = await twinslot(['bundle', 'verify', `${type}.tar`, '--trust', publicKey], s.dir);
    assert.equal(verified.exitCode, 0, verified.stderr);
  }
});

test('a signature by twinslot verifies with openssl', async (t) => {
  const s = await scene(t);
  await twinslot(['bundle', 'keygen', '--type', 'ecdsa-p256', '--out', 'k.pem'], s.dir);
  const made = await twinslot(['bundle', 'create', s.payload, '--name', 'demo', '--version', '1.0.0', '--key', 'k.pem', '-o', 'b.tar', '--', 'bin/run'], s.dir);
  assert.equal(made.exitCode, 0, made.stderr);
  await execa('tar', ['-xf', 'b.tar', 'manifest.json', 'manifest.sig'], { cwd: s.dir });
  const checked = await execa('openssl', ['dgst', '-sha256', '-verify', 'k.pub.pem', '-signature', 'manifest.sig', 'manifest.json'], { cwd: s.dir, reject: false });
  assert.equal(checked.stdout.trim(), 'Verified OK');
  await opensslSign(s.at('manifest.json'), s.keys.ecdsa.key, s.at('other.sig')); // and the helper itself signs what openssl verifies
  const other = await execa('openssl', ['dgst', '-sha256', '-verify', s.keys.ecdsa.pub, '-signature', 'other.sig', 'manifest.json'], { cwd: s.dir, reject: false });
  assert.equal(other.stdout.trim(), 'Verified OK');
});
