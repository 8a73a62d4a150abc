// install.sh --initial-bundle into temp roots (slot a committed, owners, idempotence, refusals),
// and the config install.sh writes, read back through every component's own parser.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chown, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle } from '../../../bundle/create.ts';
import { generateKeyPair } from '../../../bundle/keys.ts';
import { manifestDigest } from '../../../bundle/manifest.ts';
import { parseAgentConfig } from '../../../agent/config.ts';
import { parseJobsSections } from '../../../agent/jobs/config.ts';
import { parseProvisioningConfig } from '../../../agent/provisioning/config.ts';
import { parseSupervisorConfig } from '../../../supervisor/config.ts';
import { parseState } from '../../../slots/state.ts';
import { buildX64, type Staged } from './release-helper.ts';
import { listTree, makeCredentials, type Credentials } from './tree.ts';

let release: Staged;
let creds: Credentials;
let work: string;
let good: string;
let untrusted: string;
let trustPem: string;

before(async () => {
  release = await buildX64(false);
  work = await mkdtemp(join(tmpdir(), 'twinslot-seed-'));
  creds = await makeCredentials(work);
  const signer = generateKeyPair('ecdsa-p256');
  trustPem = join(work, 'release.pem');
  await writeFile(trustPem, signer.publicPem);
  good = await makeBundle('1.0.0', signer.privatePem);
  untrusted = await makeBundle('6.6.6', generateKeyPair('ecdsa-p256').privatePem);
});
after(async () => {
  await Promise.all([release.out, work].map((d) => rm(d, { recursive: true, force: true })));
});

async function makeBundle(version: string, privatePem: string): Promise<string> {
  const src = await mkdtemp(join(work, 'src-'));
  await writeFile(join(src, 'app.mjs'), `console.log('app ${version}');\n`);
  const file = join(work, `app-${version}.tar`);
  await createBundle(src, {
    name: 'app', version, compatible: ['gateway'], createdAt: new Date(0).toISOString(),
    entrypoint: { command: ['node', 'app.mjs'], user: 'twinslot-app' },
  }, createPrivateKey(privatePem), file, { gzip: true });
  return file;
}

function install(root: string, extra: string[]): { code: number | null; stdout: string; stderr: string } {
  const args = ['--root', root, '--thing-name', 'gw-0001', '--endpoint', 'iot.example:8883', '--device-type', 'gateway',
    '--trust', trustPem, '--systemd-version', '252', ...extra];
  const r = spawnSync('sh', [join(release.dir, 'install.sh'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const certFlags = (): string[] => ['--cert', creds.cert, '--key', creds.key, '--ca', creds.ca];

test('--initial-bundle: slot a verified, extracted and committed; the same flags again change nothing', async () => {
  const root = await mkdtemp(join(work, 'root-'));
  const first = install(root, [...certFlags(), '--initial-bundle', good]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /installed the initial bundle into slot a \(committed\)/);
  const lib = join(root, 'var', 'lib', 'twinslot');
  const state = parseState(await readFile(join(lib, 'state.json'), 'utf8'));
  const manifest = await readFile(join(lib, 'slots', 'a', 'manifest.json'));
  assert.equal(state.committed, 'a');
  assert.equal(state.trial, null);
  assert.deepEqual(state.slots, { a: { status: 'ready', version: '1.0.0', manifestSha256: manifestDigest(manifest) }, b: { status: 'empty' } });
  assert.equal(await readlink(join(lib, 'current')), 'slots/a');
  const tree = await listTree(root);
  // Code the supervisor runs: root's, and nobody else may write it.
  for (const p of ['/var/lib/twinslot/slots/a', '/var/lib/twinslot/slots/a/app.mjs', '/var/lib/twinslot/slots/a/manifest.sig']) {
    assert.match(tree.get(p) ?? `missing ${p}`, /^0[0-7][0145][0145] root:root /, p);
  }
  assert.match(tree.get('/var/lib/twinslot/state.json') ?? '', /^0644 root:root /);

  const second = install(root, [...certFlags(), '--initial-bundle', good]);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stdout, /wrote|installed release|initial bundle|ignored/);
  assert.deepEqual(await listTree(root), tree);

  // Another bundle on a device with state: the committed slot and the state are kept.
  const other = install(root, ['--initial-bundle', untrusted]);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /slot state exists; --initial-bundle ignored/);
  assert.deepEqual(await listTree(root), tree);
});

test('a bundle signed by an untrusted key is refused with its code and nothing is written', async () => {
  const root = await mkdtemp(join(work, 'root-'));
  const r = install(root, [...certFlags(), '--initial-bundle', untrusted]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /initial bundle refused: BUNDLE_UNTRUSTED_KEY/);
  assert.match(r.stderr, /initial bundle not installed/);
  const lib = join(root, 'var', 'lib', 'twinslot');
  assert.deepEqual(await readdir(join(lib, 'slots', 'a')), []);
  assert.equal(existsSync(join(lib, 'state.json')), false);
  assert.equal(existsSync(join(lib, 'current')), false);

  const corrupt = join(work, 'corrupt.tar');
  const bytes = await readFile(good);
  await writeFile(corrupt, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cut = install(root, ['--initial-bundle', corrupt]);
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /initial bundle refused: BUNDLE_/);
  assert.deepEqual(await readdir(join(lib, 'slots', 'a')), []);
  assert.equal(existsSync(join(lib, 'state.json')), false);
});

test('a slot a that is not root\'s alone (an earlier installer gave it to the agent) is not seeded', async () => {
  const root = await mkdtemp(join(work, 'root-'));
  assert.equal(install(root, certFlags()).code, 0);
  const slotA = join(root, 'var', 'lib', 'twinslot', 'slots', 'a');
  const agent = (await readFile(join(root, 'etc', 'passwd'), 'utf8')).split('\n').find((l) => l.startsWith('twinslot:'))?.split(':') ?? [];
  await chown(slotA, Number(agent[2]), Number(agent[3]));
  const r = install(root, ['--initial-bundle', good]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /initial bundle refused: SEED_SLOT_UNSAFE: \S+\/slots\/a is owned by uid \d+ with mode 755/);
  assert.deepEqual(await readdir(slotA), []);
  assert.equal(existsSync(join(root, 'var', 'lib', 'twinslot', 'state.json')), false);
});

async function configOf(root: string): Promise<unknown> {
  return JSON.parse(await readFile(join(root, 'etc', 'twinslot', 'config.json'), 'utf8')) as unknown;
}

test('the config install.sh writes is accepted by the agent and supervisor parsers', async () => {
  const root = await mkdtemp(join(work, 'root-'));
  assert.equal(install(root, [...certFlags(), '--watchdog', '/dev/watchdog']).code, 0);
  const raw = await configOf(root);
  const agent = parseAgentConfig(raw);
  assert.equal(agent.connection.thingName, 'gw-0001');
  assert.deepEqual(agent.connection.endpoints, [{ host: 'iot.example', port: 8883 }]);
  assert.equal(agent.connection.certPath, '/etc/twinslot/certs/device.crt');
  assert.equal(agent.connection.caPath, '/etc/twinslot/certs/ca.pem');
  assert.equal(parseJobsSections(raw).deviceType, 'gateway');
  assert.equal(parseProvisioningConfig(raw), null);
  const supervisor = parseSupervisorConfig(raw);
  assert.equal(supervisor.watchdog.device, '/dev/watchdog');
  // The agent runs as `twinslot`: it must reach the supervisor's socket and own prepared slots.
  assert.equal(supervisor.socketGroup, 'twinslot');
  assert.equal(supervisor.agentUser, 'twinslot');
});

test('a claim install writes a provisioning section the agent accepts', async () => {
  const root = await mkdtemp(join(work, 'root-'));
  const r = install(root, ['--claim-cert', creds.cert, '--claim-key', creds.key, '--template', 'GatewayTemplate', '--template-param', 'Serial=42']);
  assert.equal(r.code, 0, r.stderr);
  const raw = await configOf(root);
  assert.deepEqual(parseProvisioningConfig(raw), {
    mode: 'claim', claimCertPath: '/etc/twinslot/certs/claim.crt', claimKeyPath: '/etc/twinslot/certs/claim.key',
    templateName: 'GatewayTemplate', parameters: { ThingName: 'gw-0001', Serial: '42' },
  });
  assert.equal(parseAgentConfig(raw).connection.keyPath, '/etc/twinslot/certs/device.key');
  assert.equal(parseSupervisorConfig(raw).watchdog.device, '/dev/watchdog');
  assert.equal(existsSync(join(root, 'etc', 'twinslot', 'certs', 'device.key')), false, 'the agent creates the permanent key');
  assert.match((await listTree(root)).get('/etc/twinslot/certs/claim.key') ?? '', /^0600 twinslot:twinslot /);
});
