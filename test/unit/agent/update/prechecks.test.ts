import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSpace, checkVersion } from '../../../../agent/update/prechecks.ts';
import type { JobDocument } from '../../../../agent/jobs/document.ts';

type Install = Extract<JobDocument, { operation: 'install' }>;
const doc = (version: string, extra: Partial<Install> = {}): Install => ({
  operation: 'install', version, bundle: { url: 'https://x/b', sha256: 'a'.repeat(64), size: 10 }, compatible: [], allowDowngrade: false, ...extra,
});

test('semver rules: higher proceeds, same is already installed, lower refused unless allowed', () => {
  const device = { deviceType: 'rpi4', runningVersion: '1.2.0' };
  assert.equal(checkVersion(doc('1.3.0'), device).kind, 'proceed');
  assert.equal(checkVersion(doc('1.10.0'), { ...device, runningVersion: '1.9.0' }).kind, 'proceed');
  assert.deepEqual(checkVersion(doc('1.2.0'), device).kind, 'done');
  const lower = checkVersion(doc('1.1.9'), device);
  assert.equal(lower.kind === 'refused' && lower.reason, 'VERSION_DOWNGRADE');
  assert.equal(checkVersion(doc('1.1.9', { allowDowngrade: true }), device).kind, 'proceed');
  assert.equal(checkVersion(doc('1.3.0-rc.1'), device).kind, 'proceed');
  assert.equal(checkVersion(doc('1.2.0-rc.1'), device).kind, 'refused');
});

test('nothing committed, or an unknown running version, never blocks an install', () => {
  assert.equal(checkVersion(doc('0.1.0'), { deviceType: 'x', runningVersion: null }).kind, 'proceed');
  assert.equal(checkVersion(doc('0.1.0'), { deviceType: 'x', runningVersion: 'garbage' }).kind, 'proceed');
});

test('device type must be listed when the document lists any', () => {
  const refused = checkVersion(doc('2.0.0', { compatible: ['a', 'b'] }), { deviceType: 'c', runningVersion: '1.0.0' });
  assert.equal(refused.kind === 'refused' && refused.reason, 'INCOMPATIBLE_DEVICE');
  assert.equal(checkVersion(doc('2.0.0', { compatible: ['a', 'c'] }), { deviceType: 'c', runningVersion: '1.0.0' }).kind, 'proceed');
});

test('free space: refused with INSUFFICIENT_SPACE when bundle + payload + margin do not fit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-space-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal((await checkSpace(1024, 0, dir, dir, 1024)).kind, 'proceed');
  const huge = await checkSpace(2 ** 50, 0, dir, dir, 0);
  assert.equal(huge.kind === 'refused' && huge.reason, 'INSUFFICIENT_SPACE');
  assert.equal((await checkSpace(1024, 0, dir, dir, 2 ** 52)).kind, 'refused');
});
