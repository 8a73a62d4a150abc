// `twinslot release` builds a tarball that runs with its own Node.js runtime and carries only
// the target architecture's native addons.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildX64, REPO } from './release-helper.ts';

const run = promisify(execFile);

test('the linux-x64 tarball runs `twinslot --help` with its own node, from any directory', async (t) => {
  const built = await buildX64(true);
  const work = await mkdtemp(join(tmpdir(), 'twinslot-unpacked-'));
  t.after(() => Promise.all([rm(built.out, { recursive: true, force: true }), rm(work, { recursive: true, force: true })]));
  assert.ok(built.tarball && built.tarball.endsWith('twinslot-0.1.0-linux-x64.tar.gz'));
  await run('tar', ['-xzf', built.tarball, '-C', work]);
  const dir = join(work, 'twinslot-0.1.0-linux-x64');

  // A `node` first on the PATH that leaves a mark: the launcher must never use it.
  const fakeBin = join(work, 'fake-bin');
  await mkdir(fakeBin);
  await writeFile(join(fakeBin, 'node'), `#!/bin/sh\ntouch ${join(work, 'system-node-used')}\nexit 97\n`);
  await chmod(join(fakeBin, 'node'), 0o755);
  const env = { PATH: `${fakeBin}:/usr/bin:/bin` };
  const help = await run(join(dir, 'bin', 'twinslot'), ['--help'], { cwd: work, env });
  assert.match(help.stdout, /Usage: twinslot <command>/);
  assert.match(help.stdout, /release/);
  assert.equal(existsSync(join(work, 'system-node-used')), false);

  const pinned = JSON.parse(await readFile(join(REPO, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string };
  const { stdout: version } = await run(join(dir, 'runtime', 'bin', 'node'), ['--version'], { env });
  assert.equal(version.trim(), `v${pinned.version}`);
  const manifest = JSON.parse(await readFile(join(dir, 'release.json'), 'utf8')) as { arch: string; node: string };
  assert.deepEqual([manifest.arch, manifest.node], ['x64', pinned.version]);

  // Only this architecture's native binaries, and the runtime loads them.
  const modules = join(dir, 'app', 'node_modules');
  assert.deepEqual(await readdir(join(modules, 'aws-crt', 'dist', 'bin')), ['linux-x64-glibc']);
  assert.deepEqual((await readdir(join(modules, '@koromix'))).sort(), ['koffi-linux-x64']);
  const probe = "const k = (await import('koffi')).default; const sdk = await import('aws-iot-device-sdk-v2'); console.log(typeof k.load, typeof sdk.mqtt5.Mqtt5Client)";
  const loaded = await run(join(dir, 'runtime', 'bin', 'node'), ['--input-type=module', '-e', probe], { cwd: join(dir, 'app'), env });
  assert.equal(loaded.stdout.trim(), 'function function');
});

test('an unknown architecture is refused with a stable code', async () => {
  await assert.rejects(
    run(process.execPath, [join(REPO, 'cli', 'main.ts'), 'release', '--arch', 'mips'], { cwd: REPO }),
    (err: { stderr: string }) => err.stderr.includes('RELEASE_ARCH_INVALID'),
  );
});
