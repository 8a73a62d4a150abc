// install.sh and uninstall.sh into temp roots, from a real staged release: owners, modes,
// config, units, idempotence, upgrade, uninstall and purge.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chown, cp, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildX64, REPO, type Staged } from './release-helper.ts';
import { listTree, makeCredentials, type Credentials } from './tree.ts';

const run = promisify(execFile);
let release: Staged;
let creds: Credentials;
const temps: string[] = [];

before(async () => {
  release = await buildX64(false);
  creds = await makeCredentials(await temp('twinslot-creds-'));
});
after(async () => {
  await Promise.all([release.out, ...temps].map((d) => rm(d, { recursive: true, force: true })));
});

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function flags(root: string, extra: string[] = []): string[] {
  return ['--root', root, '--thing-name', 'gw-0001', '--endpoint', 'iot.example:8883', '--device-type', 'gateway',
    '--cert', creds.cert, '--key', creds.key, '--ca', creds.ca, '--trust', creds.trust, '--watchdog', '/dev/watchdog',
    '--systemd-version', '252', ...extra];
}

function sh(script: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('installs users, least-privilege files, config and units; a second run changes nothing', async () => {
  const root = await temp('twinslot-root-');
  const first = sh(join(release.dir, 'install.sh'), flags(root));
  assert.equal(first.code, 0, first.stderr);
  const passwd = await readFile(join(root, 'etc', 'passwd'), 'utf8');
  assert.match(passwd, /^twinslot:x:\d+:\d+:.*:\/nonexistent:/m);
  assert.match(passwd, /^twinslot-app:x:\d+:\d+:/m);
  const tree = await listTree(root);
  const at = (p: string): string => tree.get(p) ?? `missing ${p}`;
  assert.match(at('/etc/twinslot/certs/device.key'), /^0600 twinslot:twinslot /);
  assert.match(at('/etc/twinslot/certs'), /^0700 twinslot:twinslot/);
  assert.match(at('/etc/twinslot/config.json'), /^0640 root:twinslot /);
  assert.match(at('/var/lib/twinslot'), /^0755 root:root dir/);
  // The supervisor owns the slots and lends one to the agent at prepare-slot.
  assert.match(at('/var/lib/twinslot/slots'), /^0755 root:root dir/);
  assert.match(at('/var/lib/twinslot/slots/a'), /^0755 root:root dir/);
  assert.match(at('/var/lib/twinslot/slots/b'), /^0755 root:root dir/);
  assert.match(at('/var/lib/twinslot/trash'), /^0700 root:root dir/);
  assert.match(at('/etc/twinslot/certs/device.crt'), /^0644 twinslot:twinslot /);
  assert.equal(tree.has('/etc/twinslot/.install-staging'), false, 'the staging directory is removed');
  assert.match(at('/var/lib/twinslot/agent'), /^0700 twinslot:twinslot/);
  assert.match(at('/var/lib/twinslot/data'), /^0700 twinslot-app:twinslot-app/);
  assert.match(at('/etc/twinslot/trust/signer.pub.pem'), /^0644 root:root /);
  assert.equal(await readlink(join(root, 'opt', 'twinslot', 'current')), 'releases/0.1.0');
  const config = JSON.parse(await readFile(join(root, 'etc', 'twinslot', 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.deepEqual(config['device'], { thingName: 'gw-0001', deviceType: 'gateway' });
  assert.deepEqual(config['supervisor'], { watchdog: { device: '/dev/watchdog' }, socketGroup: 'twinslot', agentUser: 'twinslot' });
  const agentUnit = await readFile(join(root, 'etc', 'systemd', 'system', 'twinslot-agent.service'), 'utf8');
  assert.match(agentUnit, /^ExecStart=\/opt\/twinslot\/current\/bin\/twinslot agent /m);
  assert.match(agentUnit, /^After=network-online\.target/m);
  assert.equal(existsSync(join(root, 'etc', 'systemd', 'system', 'twinslot-agent.service.d')), false);

  const second = sh(join(release.dir, 'install.sh'), flags(root));
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stdout, /wrote|installed release|created|linked/);
  assert.deepEqual(await listTree(root), tree);
});

test('the units pass systemd-analyze verify', async () => {
  assert.equal(spawnSync('systemd-analyze', ['--version']).status, 0, 'systemd-analyze is missing (Debian package systemd)');
  const root = await temp('twinslot-root-');
  assert.equal(sh(join(release.dir, 'install.sh'), flags(root)).code, 0);
  await cp('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true, verbatimSymlinks: true });
  const units = ['twinslot-supervisor.service', 'twinslot-agent.service'].map((u) => join(root, 'etc', 'systemd', 'system', u));
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /twinslot/, r.stderr);
});

test('systemd 254+ gets RestartSteps in a drop-in; a systemd watchdog on the same device is reported', async () => {
  const root = await temp('twinslot-root-');
  await mkdir(join(root, 'etc', 'systemd', 'system.conf.d'), { recursive: true });
  await writeFile(join(root, 'etc', 'systemd', 'system.conf.d', 'wd.conf'), '[Manager]\nRuntimeWatchdogSec=30s\n');
  const r = sh(join(release.dir, 'install.sh'), flags(root, ['--systemd-version', '255']));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /RuntimeWatchdogSec=30s in \/etc\/systemd\/system\.conf\.d\/wd\.conf/);
  const dropin = await readFile(join(root, 'etc', 'systemd', 'system', 'twinslot-agent.service.d', '10-restart-steps.conf'), 'utf8');
  assert.match(dropin, /^RestartSteps=5$/m);
  await writeFile(join(root, 'etc', 'systemd', 'system.conf.d', 'wd.conf'), '[Manager]\nRuntimeWatchdogSec=off\n');
  assert.doesNotMatch(sh(join(release.dir, 'install.sh'), flags(root)).stderr, /WARNING/);
});

test('a device set up by an earlier installer: slots/ is taken back from the agent, the slots themselves are left alone', async () => {
  const root = await temp('twinslot-root-');
  assert.equal(sh(join(release.dir, 'install.sh'), flags(root)).code, 0);
  const slots = join(root, 'var', 'lib', 'twinslot', 'slots');
  const agent = (await readFile(join(root, 'etc', 'passwd'), 'utf8')).split('\n').find((l) => l.startsWith('twinslot:'))?.split(':') ?? [];
  const [uid, gid] = [Number(agent[2]), Number(agent[3])];
  for (const p of [slots, join(slots, 'a'), join(slots, 'b')]) await chown(p, uid, gid); // how earlier installers left them
  await writeFile(join(slots, 'b', 'partial.bin'), 'download\n');
  await chown(join(slots, 'b', 'partial.bin'), uid, gid);
  const again = sh(join(release.dir, 'install.sh'), ['--root', root, '--upgrade', '--systemd-version', '252']);
  assert.equal(again.code, 0, again.stderr);
  const tree = await listTree(root, (p) => p.startsWith('/var/lib/twinslot/slots'));
  assert.match(tree.get('/var/lib/twinslot/slots') ?? '', /^0755 root:root dir/);
  assert.match(tree.get('/var/lib/twinslot/slots/a') ?? '', /^0755 twinslot:twinslot dir/);
  assert.match(tree.get('/var/lib/twinslot/slots/b') ?? '', /^0755 twinslot:twinslot dir/);
  assert.match(tree.get('/var/lib/twinslot/slots/b/partial.bin') ?? '', / twinslot:twinslot /);
});

test('bad flags fail clearly and write no config', async () => {
  const root = await temp('twinslot-root-');
  const r = sh(join(release.dir, 'install.sh'), ['--root', root, '--endpoint', 'e', '--cert', creds.cert, '--key', creds.key]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /INSTALL_FLAG_MISSING: --thing-name is required/);
  assert.equal(existsSync(join(root, 'etc', 'twinslot', 'config.json')), false);
  assert.match(sh(join(release.dir, 'install.sh'), ['--root', root, '--bogus']).stderr, /unknown option --bogus/);
});

test('--upgrade replaces the release and keeps config and state; uninstall keeps state, --purge removes it', async () => {
  const root = await temp('twinslot-root-');
  assert.equal(sh(join(release.dir, 'install.sh'), flags(root)).code, 0);
  const stateFile = join(root, 'var', 'lib', 'twinslot', 'state.json');
  await writeFile(stateFile, '{"kept":true}\n');
  await writeFile(join(root, 'var', 'lib', 'twinslot', 'agent', 'journal'), 'job-1\n');
  const before = await listTree(root, (p) => p.startsWith('/etc/twinslot') || p.startsWith('/var/lib/twinslot'));

  const next = join(await temp('twinslot-next-'), 'twinslot-0.1.1-linux-x64');
  await cp(release.dir, next, { recursive: true, verbatimSymlinks: true });
  const manifest = join(next, 'release.json');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('"version": "0.1.0"', '"version": "0.1.1"'));
  const refused = sh(join(next, 'install.sh'), ['--root', root]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /0\.1\.0 is installed; run with --upgrade/);
  const up = sh(join(next, 'install.sh'), ['--root', root, '--upgrade', '--systemd-version', '252']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await readlink(join(root, 'opt', 'twinslot', 'current')), 'releases/0.1.1');
  assert.ok(existsSync(join(root, 'opt', 'twinslot', 'releases', '0.1.0')), 'the replaced release stays as a fallback');
  assert.deepEqual(await listTree(root, (p) => p.startsWith('/etc/twinslot') || p.startsWith('/var/lib/twinslot')), before);

  const un = sh(join(root, 'opt', 'twinslot', 'current', 'uninstall.sh'), ['--root', root]);
  assert.equal(un.code, 0, un.stderr);
  assert.equal(existsSync(join(root, 'opt', 'twinslot')), false);
  assert.equal(existsSync(join(root, 'etc', 'systemd', 'system', 'twinslot-agent.service')), false);
  assert.equal(existsSync(join(root, 'usr', 'local', 'bin', 'twinslot')), false);
  assert.equal(await readFile(stateFile, 'utf8'), '{"kept":true}\n');
  assert.ok(existsSync(join(root, 'etc', 'twinslot', 'certs', 'device.key')));

  const purge = sh(join(release.dir, 'uninstall.sh'), ['--root', root, '--purge']);
  assert.equal(purge.code, 0, purge.stderr);
  assert.equal(existsSync(join(root, 'var', 'lib', 'twinslot')), false);
  assert.equal(existsSync(join(root, 'etc', 'twinslot')), false);
  assert.doesNotMatch(await readFile(join(root, 'etc', 'passwd'), 'utf8'), /twinslot/);
});

test('install.sh, uninstall.sh and their libraries are clean under shellcheck', async () => {
  const scripts = ['install.sh', 'uninstall.sh', 'lib/users.sh', 'lib/safe-files.sh', 'lib/files.sh'].map((s) => join(REPO, 'installer', s));
  const { stdout } = await run('shellcheck', ['--shell=sh', '--external-sources', ...scripts]);
  assert.equal(stdout, '');
});
