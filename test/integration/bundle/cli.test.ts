// `twinslot bundle keygen|create|verify|inspect` as a user runs them (bin/twinslot.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { tempDir, twinslot, writeTree } from '../../fixtures/bundle/kit.ts';
import { APP } from '../../fixtures/bundle/scene.ts';

async function workspace(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await writeTree(join(dir, 'app'), APP);
  return dir;
}

test('keygen, create, verify and inspect round-trip for both key types, plain and gzip', async (t) => {
  const dir = await workspace(t);
  for (const type of ['ecdsa-p256', 'ed25519']) {
    const keygen = await twinslot(['bundle', 'keygen', '--type', type, '--out', `${type}.pem`], dir);
    assert.equal(keygen.exitCode, 0, keygen.stderr);
    assert.equal(keygen.stdout.trim(), join(dir, `${type}.pub.pem`));
    assert.equal((await stat(join(dir, `${type}.pem`))).mode & 0o777, 0o600);
    for (const gzip of [[], ['--gzip']]) {
      const out = `${type}${gzip.length ? '.tar.gz' : '.tar'}`;
      const create = await twinslot(['bundle', 'create', 'app', '--name', 'demo', '--version', '1.4.0-rc.1', '--key', `${type}.pem`, '--compatible', 'rpi4', '--env', 'PORT=8080',
        '--health-json', '{"http":{"url":"http://127.0.0.1:8080/health"}}', ...gzip, '-o', out, '--', 'bin/run', '--port', '8080'], dir);
      assert.equal(create.exitCode, 0, create.stderr);
      const magic = (await readFile(join(dir, out))).subarray(0, 2).toString('hex');
      assert.equal(magic === '1f8b', gzip.length > 0);
      const verify = await twinslot(['bundle', 'verify', out, '--trust', `${type}.pub.pem`, '--device-type', 'rpi4'], dir);
      assert.equal(verify.exitCode, 0, verify.stderr);
      assert.match(verify.stdout, /^OK demo 1\.4\.0-rc\.1: 7 entries/);
      const inspect = await twinslot(['bundle', 'inspect', out, '--json'], dir);
      assert.equal(inspect.exitCode, 0, inspect.stderr);
      const { manifest } = JSON.parse(inspect.stdout) as { manifest: { entrypoint: unknown; compatible: string[]; health: unknown } };
      assert.deepEqual(manifest.entrypoint, { command: ['bin/run', '--port', '8080'], env: { PORT: '8080' } });
      assert.deepEqual(manifest.compatible, ['rpi4']);
      assert.deepEqual(manifest.health, { http: { url: 'http://127.0.0.1:8080/health' } });
    }
  }
  const human = await twinslot(['bundle', 'inspect', 'ed25519.tar'], dir);
  assert.match(human.stdout, /version: +1\.4\.0-rc\.1/);
  assert.match(human.stdout, /symlink +lib\/current -> data\.txt/);
});

test('the archive lists manifest.json and manifest.sig first, then the tree in a fixed order (GNU tar reads it)', async (t) => {
  const dir = await workspace(t);
  await twinslot(['bundle', 'keygen', '--type', 'ed25519', '--out', 'k.pem'], dir);
  const args = ['bundle', 'create', 'app', '--name', 'demo', '--version', '1.0.0', '--key', 'k.pem', '--created-at', '2026-01-01T00:00:00Z', '--entry', 'bin/run'];
  await twinslot([...args, '-o', 'one.tar'], dir);
  await twinslot([...args, '-o', 'two.tar'], dir);
  const { stdout } = await execa('tar', ['-tvf', 'one.tar'], { cwd: dir });
  const names = stdout.split('\n').map((line) => line.split(/\s+/).slice(5).join(' '));
  assert.deepEqual(names, ['manifest.json', 'manifest.sig', 'bin/', 'bin/run', 'lib/', 'lib/current -> data.txt', 'lib/data.txt', 'share/', 'share/empty/']);
  assert.match(stdout, /-rwxr-xr-x 0\/0 .* bin\/run/);
  assert.deepEqual(await readFile(join(dir, 'one.tar')), await readFile(join(dir, 'two.tar')), 'Ed25519 + fixed time: byte-identical bundles');
});

test('verify fails with exit 1 and one line "CODE: reason", or JSON with --json', async (t) => {
  const dir = await workspace(t);
  await twinslot(['bundle', 'keygen', '--type', 'ecdsa-p256', '--out', 'a.pem'], dir);
  await twinslot(['bundle', 'keygen', '--type', 'ecdsa-p256', '--out', 'b.pem'], dir);
  await twinslot(['bundle', 'create', 'app', '--name', 'demo', '--version', '1.0.0', '--key', 'a.pem', '-o', 'b.tar', '--entry', 'bin/run'], dir);
  const plain = await twinslot(['bundle', 'verify', 'b.tar', '--trust', 'b.pub.pem'], dir);
  assert.equal(plain.exitCode, 1);
  assert.equal(plain.stdout, '');
  assert.match(plain.stderr, /^BUNDLE_UNTRUSTED_KEY: [^\n]+$/);
  const json = await twinslot(['bundle', 'verify', 'b.tar', '--trust', 'b.pub.pem', '--json'], dir);
  assert.equal(json.exitCode, 1);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout) as object), ['ok', 'code', 'message']);
  const incompatible = await twinslot(['bundle', 'verify', 'b.tar', '--trust', 'a.pub.pem', '--device-type', 'x'], dir);
  assert.equal(incompatible.exitCode, 0, 'an empty compatible list means any device');
});

test('create refuses what a bundle cannot hold, each with its code', async (t) => {
  const dir = await workspace(t);
  await twinslot(['bundle', 'keygen', '--type', 'ed25519', '--out', 'k.pem'], dir);
  await execa('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(dir, 'rsa.pem')]);
  await execa('openssl', ['pkey', '-in', join(dir, 'rsa.pem'), '-pubout', '-out', join(dir, 'rsa.pub.pem')]);
  const create = (app: string, key: string, extra: string[] = []): ReturnType<typeof twinslot> =>
    twinslot(['bundle', 'create', app, '--name', 'demo', '--version', '1.0.0', '--key', key, '-o', 'out.tar', '--entry', 'x', ...extra], dir);

  assert.match((await create('app', 'rsa.pem')).stderr, /^BUNDLE_KEY_INVALID: .*rsa/);
  const verifyRsa = await twinslot(['bundle', 'verify', 'nothing.tar', '--trust', 'rsa.pub.pem'], dir);
  assert.match(verifyRsa.stderr, /^BUNDLE_TRUST_INVALID: /);
  await mkdir(join(dir, 'fifo-app'));
  await execa('mkfifo', [join(dir, 'fifo-app', 'pipe')]);
  assert.match((await create('fifo-app', 'k.pem')).stderr, /^BUNDLE_FIFO: /);
  await mkdir(join(dir, 'escape-app'));
  await execa('ln', ['-s', '../../etc/passwd', join(dir, 'escape-app', 'passwd')]);
  assert.match((await create('escape-app', 'k.pem')).stderr, /^BUNDLE_SYMLINK_ESCAPE: /);
  assert.match((await create('app', 'k.pem', ['--health-json', '{"http":{}}'])).stderr, /^BUNDLE_MANIFEST_INVALID: manifest\.json \/health\/http/);
  assert.equal((await create('app', 'k.pem', ['--version', 'v2'])).exitCode, 1);
});

test('BUNDLE_SOURCE_CHANGED: assembling from a manifest the tree no longer matches', async (t) => {
  const dir = await workspace(t);
  const made = await twinslot(['bundle', 'create', 'app', '--name', 'demo', '--version', '1.0.0', '--manifest-only', '-o', 'manifest.json', '--entry', 'x'], dir);
  assert.equal(made.exitCode, 0, made.stderr);
  await writeFile(join(dir, 'manifest.sig'), 'unsigned');
  await writeFile(join(dir, 'app/lib/data.txt'), 'SOME DATA\n');
  const assembled = await twinslot(['bundle', 'create', 'app', '--manifest', 'manifest.json', '--signature', 'manifest.sig', '-o', 'b.tar'], dir);
  assert.equal(assembled.exitCode, 1);
  assert.match(assembled.stderr, /^BUNDLE_SOURCE_CHANGED: .*lib\/data\.txt/);
  await assert.rejects(stat(join(dir, 'b.tar')), 'no half-written bundle is left behind');
});

test('usage mistakes exit 2; keygen never overwrites a key', async (t) => {
  const dir = await workspace(t);
  assert.equal((await twinslot(['bundle'], dir)).exitCode, 2);
  assert.equal((await twinslot(['bundle', 'frobnicate'], dir)).exitCode, 2);
  assert.equal((await twinslot(['bundle', 'keygen', '--type', 'rsa', '--out', 'k.pem'], dir)).exitCode, 2);
  assert.equal((await twinslot(['bundle', 'create', 'app', '--version', '1.0.0', '-o', 'x.tar', '--entry', 'x'], dir)).exitCode, 2);
  assert.equal((await twinslot(['bundle', 'verify', '--bogus'], dir)).exitCode, 2);
  assert.equal((await twinslot(['bundle', 'create', '--help'], dir)).exitCode, 0);
  assert.equal((await twinslot(['bundle', 'keygen', '--type', 'ed25519', '--out', 'k.pem'], dir)).exitCode, 0);
  const again = await twinslot(['bundle', 'keygen', '--type', 'ed25519', '--out', 'k.pem'], dir);
  assert.notEqual(again.exitCode, 0);
  assert.match(again.stderr, /EEXIST/);
  const help = await twinslot(['--help'], dir);
  assert.match(help.stdout, /bundle +make, sign, verify and inspect update bundles/);
});
