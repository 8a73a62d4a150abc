// Hostile heads: manifest.json and manifest.sig missing, misplaced, forged, oversized or
// invalid. Archives by GNU tar, keys and signatures by openssl.

import { test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gnuTar, opensslKeyId } from '../../fixtures/bundle/kit.ts';
import { assertRefused } from '../../fixtures/bundle/refusal.ts';
import { scene } from '../../fixtures/bundle/scene.ts';

test('BUNDLE_SIGNATURE_INVALID: manifest.json changed after it was signed', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await writeFile(join(head, 'manifest.json'), `${JSON.stringify(s.manifest({ version: '6.6.6' }), null, 2)}\n`);
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SIGNATURE_INVALID');
});

test('BUNDLE_SIGNATURE_INVALID: manifest.sig holds garbage', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await writeFile(join(head, 'manifest.sig'), Buffer.alloc(72, 0x30));
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SIGNATURE_INVALID');
});

test('BUNDLE_UNTRUSTED_KEY: signed (openssl, Ed25519) by a key the device does not trust', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({ keyId: await opensslKeyId(s.keys.ed25519.pub) }), s.keys.ed25519.key);
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_UNTRUSTED_KEY', { message: /not in the trust store/ });
});

test('BUNDLE_MANIFEST_MISSING: an archive of the payload alone', async (t) => {
  const s = await scene(t);
  await gnuTar(s.at('b.tar'), s.payload, s.payload, s.paths, { head: [] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_MANIFEST_MISSING');
});

test('BUNDLE_MANIFEST_MISSING: manifest.sig before manifest.json', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths, { head: ['manifest.sig', 'manifest.json'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_MANIFEST_MISSING', { message: /first entry/ });
});

test('BUNDLE_SIGNATURE_MISSING: manifest.json followed directly by the payload', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths, { head: ['manifest.json'] });
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SIGNATURE_MISSING');
});

test('BUNDLE_MANIFEST_TOO_LARGE: a signed 2 MiB manifest is refused before it is read', async (t) => {
  const s = await scene(t);
  const padded = JSON.stringify(s.manifest(), null, 2).replace('{', `{${' '.repeat(2 * 1024 * 1024)}`);
  const head = await s.head(padded);
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_MANIFEST_TOO_LARGE');
});

test('BUNDLE_MANIFEST_INVALID: a correctly signed manifest with an invalid semver', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({ version: '1.0' }));
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_MANIFEST_INVALID', { message: /\/version.*semantic version/ });
});

test('BUNDLE_MANIFEST_INVALID: a correctly signed manifest that is not JSON', async (t) => {
  const s = await scene(t);
  const head = await s.head('{"format": 1, "name": ');
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_MANIFEST_INVALID', { message: /not JSON/ });
});

test('BUNDLE_INCOMPATIBLE: a bundle for another device type', async (t) => {
  const s = await scene(t);
  const head = await s.head(s.manifest({ compatible: ['rpi4', 'rpi5'] }));
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_INCOMPATIBLE', { deviceType: 'x86-gateway', message: /rpi4, rpi5, not for x86-gateway/ });
});

test('BUNDLE_SYMLINK_ESCAPE: a signed manifest whose symlink leaves the slot through another symlink', async (t) => {
  const s = await scene(t, { 'd1/d2/s': { symlink: '../../x' }, 'x/file': 'x\n', 'd1/d2/l': { symlink: 's/../../..' } });
  const head = await s.head(s.manifest());
  await gnuTar(s.at('b.tar'), head, s.payload, s.paths);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_SYMLINK_ESCAPE', { message: /d1\/d2\/l/ });
});
