// Memory stays flat whatever the bundle size: a 200 MiB bundle streams through installBundle
// and verifyBundle (each in a child process, so its peak RSS is measured alone) with about the
// same peak RSS as a 50 MiB one. A behavioural bound with a wide margin: holding the payload
// would add 150 MiB; garbage awaiting collection is bounded by the heap's sizing, not the bundle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createBundle, generateKeyPair, parsePrivateKey } from '../../../bundle/index.ts';
import { REPO, tempDir } from '../../fixtures/bundle/kit.ts';

const MiB = 1024 * 1024;
const CHILD = join(REPO, 'test', 'fixtures', 'bundle', 'install-child.ts');

interface Peak {
  maxRssBytes: number;
  bytes: number;
}

async function bundleOf(dir: string, name: string, files: number, fileBytes: number, key: string): Promise<string> {
  const app = join(dir, name);
  await mkdir(app, { recursive: true });
  for (let i = 0; i < files; i += 1) await writeFile(join(app, `f${String(i).padStart(3, '0')}.bin`), randomBytes(fileBytes));
  const spec = { name, version: '1.0.0', compatible: [], entrypoint: { command: ['f000.bin'] }, createdAt: '2026-01-01T00:00:00Z' };
  await createBundle(app, spec, parsePrivateKey(key, 'test').key, join(dir, `${name}.tar`), { gzip: false });
  return join(dir, `${name}.tar`);
}

async function peak(mode: 'install' | 'verify', bundle: string, trust: string, slot: string): Promise<Peak> {
  await mkdir(slot, { recursive: true });
  const { stdout } = await execa(process.execPath, [CHILD, mode, bundle, trust, slot]);
  return JSON.parse(stdout) as Peak;
}

test('installing and verifying a 200 MiB bundle peaks at about the RSS of a 50 MiB one', { timeout: 300_000 }, async (t) => {
  const dir = await tempDir(t);
  const pair = generateKeyPair('ed25519');
  await writeFile(join(dir, 'pub.pem'), pair.publicPem);
  const small = await bundleOf(dir, 'small', 25, 2 * MiB, pair.privatePem);
  const big = await bundleOf(dir, 'big', 50, 4 * MiB, pair.privatePem);
  for (const mode of ['install', 'verify'] as const) {
    const baseline = await peak(mode, small, join(dir, 'pub.pem'), join(dir, `${mode}-small`));
    const large = await peak(mode, big, join(dir, 'pub.pem'), join(dir, `${mode}-big`));
    assert.ok(large.bytes > 200 * MiB);
    const growth = (large.maxRssBytes - baseline.maxRssBytes) / MiB;
    t.diagnostic(`${mode}: peak RSS ${(baseline.maxRssBytes / MiB).toFixed(1)} MiB (50 MiB bundle) vs ${(large.maxRssBytes / MiB).toFixed(1)} MiB (200 MiB bundle)`);
    assert.ok(growth < 24, `${mode}: peak RSS grew by ${growth.toFixed(1)} MiB for 150 MiB more payload`);
  }
});
