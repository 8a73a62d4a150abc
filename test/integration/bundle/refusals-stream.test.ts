// Hostile streams: truncated archives (plain and gzip), gzip bombs and limits, bytes that are
// not a tar at all. The archives come from GNU tar, gzip and head(1).

import { test } from 'node:test';
import { open, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { gnuTar } from '../../fixtures/bundle/kit.ts';
import { assertRefused } from '../../fixtures/bundle/refusal.ts';
import { scene, type Scene } from '../../fixtures/bundle/scene.ts';

/** A valid GNU tar bundle with a 300 KiB file in the middle of it. */
async function validBundle(t: Parameters<typeof scene>[0]): Promise<Scene> {
  const s = await scene(t, { 'bin/run': '#!/bin/sh\n', 'lib/big.bin': Buffer.alloc(300 * 1024, 7), 'zz-last.txt': 'last\n' });
  await gnuTar(s.at('b.tar'), await s.head(s.manifest()), s.payload, s.paths);
  return s;
}

async function cut(from: string, to: string, bytes: number): Promise<void> {
  await execa('sh', ['-c', 'head -c "$1" "$2" > "$3"', 'sh', String(bytes), from, to]);
}

test('BUNDLE_TRUNCATED: the archive ends inside a file', async (t) => {
  const s = await validBundle(t);
  await cut(s.at('b.tar'), s.at('cut.tar'), 150 * 1024);
  await assertRefused(t, s.at('cut.tar'), s.keys.ecdsa.pub, 'BUNDLE_TRUNCATED');
});

test('BUNDLE_TRUNCATED: the archive ends between entries, without the end-of-archive marker', async (t) => {
  const s = await validBundle(t);
  // GNU tar pads to 10 KiB records: find the last entry's end by listing block numbers.
  const { stdout } = await execa('tar', ['-tvR', '-f', s.at('b.tar')]);
  const lastBlock = Number(/block (\d+):[^\n]*zz-last\.txt/.exec(stdout)?.[1]);
  await cut(s.at('b.tar'), s.at('cut.tar'), (lastBlock + 2) * 512);
  await assertRefused(t, s.at('cut.tar'), s.keys.ecdsa.pub, 'BUNDLE_TRUNCATED', { message: /end-of-archive/ });
});

test('BUNDLE_TRUNCATED: a gzip bundle cut short', async (t) => {
  const s = await validBundle(t);
  await execa('sh', ['-c', 'gzip -c "$1" > "$2"', 'sh', s.at('b.tar'), s.at('b.tgz')]);
  await cut(s.at('b.tgz'), s.at('cut.tgz'), (await stat(s.at('b.tgz'))).size - 100);
  await assertRefused(t, s.at('cut.tgz'), s.keys.ecdsa.pub, 'BUNDLE_TRUNCATED');
});

test('BUNDLE_TRUNCATED: the archive ends inside manifest.json', async (t) => {
  const s = await validBundle(t);
  await cut(s.at('b.tar'), s.at('cut.tar'), 700);
  await assertRefused(t, s.at('cut.tar'), s.keys.ecdsa.pub, 'BUNDLE_TRUNCATED');
});

test('BUNDLE_TOO_LARGE: a gzip bomb (a valid bundle followed by 256 MiB of zeros, 250 KiB compressed)', async (t) => {
  const s = await validBundle(t);
  await execa('sh', ['-c', '{ cat "$1"; head -c 268435456 /dev/zero; } | gzip -1 > "$2"', 'sh', s.at('b.tar'), s.at('bomb.tgz')]);
  // No configured limit is needed: the manifest says how much tar there can be.
  await assertRefused(t, s.at('bomb.tgz'), s.keys.ecdsa.pub, 'BUNDLE_TOO_LARGE', { message: /after decompression/ });
});

test('BUNDLE_TOO_LARGE: a gzip bomb inside a listed file, stopped by the configured limit', async (t) => {
  const s = await scene(t, { 'zeros.bin': Buffer.alloc(64 * 1024 * 1024) });
  await gnuTar(s.at('b.tar'), await s.head(s.manifest()), s.payload, s.paths);
  await execa('sh', ['-c', 'gzip -1 -c "$1" > "$2"', 'sh', s.at('b.tar'), s.at('b.tgz')]);
  await assertRefused(t, s.at('b.tgz'), s.keys.ecdsa.pub, 'BUNDLE_TOO_LARGE', { limits: { maxBundleBytes: 16 * 1024 * 1024 }, message: /declares/ });
});

test('BUNDLE_TOO_LARGE: more entries than the configured limit', async (t) => {
  const s = await validBundle(t);
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_TOO_LARGE', { limits: { maxFiles: 2 } });
});

test('BUNDLE_TAR_INVALID: random bytes', async (t) => {
  const s = await scene(t);
  await writeFile(s.at('random.tar'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  await assertRefused(t, s.at('random.tar'), s.keys.ecdsa.pub, 'BUNDLE_TAR_INVALID');
});

test('BUNDLE_TAR_INVALID: a payload header with a broken checksum', async (t) => {
  const s = await validBundle(t);
  const { stdout } = await execa('tar', ['-tvR', '-f', s.at('b.tar')]);
  const block = Number(/block (\d+):[^\n]*bin\/run/.exec(stdout)?.[1]);
  const file = await open(s.at('b.tar'), 'r+');
  await file.write(Buffer.from('X'), 0, 1, block * 512 + 1); // inside the name field
  await file.close();
  await assertRefused(t, s.at('b.tar'), s.keys.ecdsa.pub, 'BUNDLE_TAR_INVALID', { message: /checksum/ });
});

test('BUNDLE_TAR_INVALID: a corrupt gzip stream', async (t) => {
  const s = await validBundle(t);
  await execa('sh', ['-c', 'gzip -c "$1" > "$2"', 'sh', s.at('b.tar'), s.at('b.tgz')]);
  const middle = Math.floor((await stat(s.at('b.tgz'))).size / 2);
  const file = await open(s.at('b.tgz'), 'r+');
  await file.write(Buffer.alloc(64, 0xaa), 0, 64, middle);
  await file.close();
  await assertRefused(t, s.at('b.tgz'), s.keys.ecdsa.pub, 'BUNDLE_TAR_INVALID');
});
