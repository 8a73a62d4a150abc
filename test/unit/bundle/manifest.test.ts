// manifest.json validation: what a signed manifest may say, and the JSON path each refusal names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, validateManifest, serializeManifest } from '../../../bundle/manifest.ts';
import type { Manifest, ManifestFile } from '../../../bundle/manifest-types.ts';
import { isBundleError, type BundleErrorCode } from '../../../bundle/errors.ts';

const SHA = 'a'.repeat(64);

function manifest(files: ManifestFile[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 1, name: 'demo', version: '1.2.3', compatible: ['rpi4'], entrypoint: { command: ['bin/run'] }, createdAt: '2026-01-02T03:04:05Z', files, ...extra };
}

function refused(value: unknown, code: BundleErrorCode, path: string | RegExp): void {
  assert.throws(
    () => validateManifest(value),
    (err: unknown) => {
      assert.ok(isBundleError(err), `expected a BundleError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      if (typeof path === 'string') assert.equal(err.details.path, path, err.message);
      else assert.match(err.message, path);
      return true;
    },
  );
}

test('a complete manifest round-trips through serialize and parse', () => {
  const value = manifest(
    [
      { type: 'dir', path: 'bin', mode: 0o755 },
      { type: 'file', path: 'bin/run', size: 10, mode: 0o755, sha256: SHA },
      { type: 'symlink', path: 'run', target: 'bin/run' },
    ],
    {
      health: { startTimeoutSeconds: 30, probationSeconds: 60, http: { url: 'http://127.0.0.1:8080/health', timeoutMs: 500 }, notify: { watchdogSec: 5 } },
      entrypoint: { command: ['bin/run', '--port', '80'], env: { PORT: '80' }, user: 'app', workingDir: 'bin' },
      keyId: `sha256:${'b'.repeat(64)}`,
    },
  );
  const parsed = parseManifest(serializeManifest(validateManifest(value)));
  assert.deepEqual(parsed, value);
});

test('versions must be strict semver 2.0.0', () => {
  for (const version of ['1.0', 'v1.2.3', '1.2.3.4', '01.2.3', '', 'latest']) {
    refused(manifest([], { version }), 'BUNDLE_MANIFEST_INVALID', '/version');
  }
  assert.equal(validateManifest(manifest([], { version: '1.2.3-rc.1+build.5' })).version, '1.2.3-rc.1+build.5');
});

test('structural errors name the JSON path that failed', () => {
  refused({ ...manifest(), format: 2 }, 'BUNDLE_MANIFEST_INVALID', '/format');
  refused(manifest([], { surprise: true }), 'BUNDLE_MANIFEST_INVALID', /unknown property "surprise"/);
  refused(manifest([{ type: 'file', path: 'a', size: 1, mode: 0o644, sha256: 'xyz' }]), 'BUNDLE_MANIFEST_INVALID', '/files/0/sha256');
  refused(manifest([{ type: 'file', path: 'a', size: -1, mode: 0o644, sha256: SHA }]), 'BUNDLE_MANIFEST_INVALID', '/files/0/size');
  refused(manifest([{ type: 'file', path: 'a', size: 1, mode: 0o4755, sha256: SHA }]), 'BUNDLE_MANIFEST_INVALID', '/files/0/mode');
  refused(manifest([{ type: 'device', path: 'a' } as unknown as ManifestFile]), 'BUNDLE_MANIFEST_INVALID', '/files/0/type');
  refused(manifest([], { entrypoint: { command: [] } }), 'BUNDLE_MANIFEST_INVALID', '/entrypoint/command');
  refused(manifest([], { createdAt: 'yesterday' }), 'BUNDLE_MANIFEST_INVALID', '/createdAt');
  refused(manifest([], { compatible: ['a', 'a'] }), 'BUNDLE_MANIFEST_INVALID', '/compatible');
});

test('bytes that are not UTF-8 JSON are refused', () => {
  for (const bytes of [Buffer.from([0x7b, 0xff, 0x7d]), Buffer.from('{"format":1,'), Buffer.from('')]) {
    assert.throws(() => parseManifest(bytes), (err: unknown) => isBundleError(err, 'BUNDLE_MANIFEST_INVALID'));
  }
});

test('paths are relative, canonical, unique and not reserved', () => {
  const file = (path: string): ManifestFile => ({ type: 'file', path, size: 0, mode: 0o644, sha256: SHA });
  refused(manifest([file('/etc/passwd')]), 'BUNDLE_PATH_ABSOLUTE', '/files/0/path');
  refused(manifest([file('a/../../b')]), 'BUNDLE_PATH_TRAVERSAL', '/files/0/path');
  refused(manifest([file('a/\ufffd')]), 'BUNDLE_NAME_NOT_UTF8', '/files/0/path');
  refused(manifest([file('a/\ud800')]), 'BUNDLE_NAME_NOT_UTF8', '/files/0/path');
  for (const path of ['./a', 'a//b', 'a/', 'a/./b', 'line\nbreak', 'manifest.json', 'manifest.sig', `${'x'.repeat(256)}`]) {
    refused(manifest([file(path)]), 'BUNDLE_MANIFEST_INVALID', '/files/0/path');
  }
  refused(manifest([file('a'), file('a')]), 'BUNDLE_MANIFEST_INVALID', '/files/1/path');
  refused(manifest([], { entrypoint: { command: ['x'], workingDir: '../up' } }), 'BUNDLE_PATH_TRAVERSAL', '/entrypoint/workingDir');
  assert.equal(validateManifest(manifest([file('sub/manifest.json')])).files.length, 1);
});

test('nothing may live under a file or a symlink', () => {
  refused(manifest([{ type: 'file', path: 'a', size: 0, mode: 0o644, sha256: SHA }, { type: 'file', path: 'a/b', size: 0, mode: 0o644, sha256: SHA }]), 'BUNDLE_MANIFEST_INVALID', '/files/1/path');
  refused(manifest([{ type: 'symlink', path: 'lib', target: 'real' }, { type: 'dir', path: 'real', mode: 0o755 }, { type: 'file', path: 'lib/x', size: 0, mode: 0o644, sha256: SHA }]), 'BUNDLE_MANIFEST_INVALID', '/files/2/path');
});

test('symlinks that leave the slot are refused, following other symlinks like the kernel does', () => {
  const link = (path: string, target: string): ManifestFile => ({ type: 'symlink', path, target });
  const dir = (path: string): ManifestFile => ({ type: 'dir', path, mode: 0o755 });
  refused(manifest([link('etc', '/etc')]), 'BUNDLE_SYMLINK_ESCAPE', '/files/0/target');
  refused(manifest([dir('a'), link('a/up', '../..')]), 'BUNDLE_SYMLINK_ESCAPE', '/files/1/target');
  // Lexically "d1/d2/s/../../.." is the slot root, but s -> ../../x is x (depth 1), so ../.. leaves it.
  refused(manifest([dir('d1'), dir('d1/d2'), dir('x'), link('d1/d2/s', '../../x'), link('d1/d2/l', 's/../../..')]), 'BUNDLE_SYMLINK_ESCAPE', '/files/4/target');
  refused(manifest([link('a', 'b'), link('b', 'a')]), 'BUNDLE_SYMLINK_ESCAPE', /loop/);
  const ok = validateManifest(manifest([dir('bin'), link('bin/app', '../lib/app'), link('current', 'bin'), link('dangling', 'not/there/..')]));
  assert.equal(ok.files.length, 4);
});

test('more entries than the limit is too large', () => {
  const files: ManifestFile[] = Array.from({ length: 11 }, (_, i) => ({ type: 'dir', path: `d${i}`, mode: 0o755 }));
  assert.throws(() => validateManifest(manifest(files), 10), (err: unknown) => isBundleError(err, 'BUNDLE_TOO_LARGE'));
});

test('the schema accepts what the Manifest type allows (a type-level check of the fixture)', () => {
  const typed: Manifest = validateManifest(manifest());
  assert.equal(typed.format, 1);
});

test('modes that let group or other write a slot entry are refused (BUNDLE_MODE_UNSAFE)', () => {
  refused(manifest([{ type: 'file', path: 'run', size: 1, mode: 0o777, sha256: SHA }]), 'BUNDLE_MODE_UNSAFE', '/files/0/mode');
  refused(manifest([{ type: 'file', path: 'run', size: 1, mode: 0o664, sha256: SHA }]), 'BUNDLE_MODE_UNSAFE', '/files/0/mode');
  refused(manifest([{ type: 'dir', path: 'lib', mode: 0o757 }]), 'BUNDLE_MODE_UNSAFE', '/files/0/mode');
  assert.ok(validateManifest(manifest([{ type: 'file', path: 'run', size: 1, mode: 0o755, sha256: SHA }, { type: 'dir', path: 'd', mode: 0o700 }])));
});
