// Attacks on install.sh through /etc/twinslot/certs, which the agent owns (fleet provisioning
// writes there): before a certificate rotation or an upgrade, the agent's real uid links the
// credential names, or the temp names an installer might use, at root-owned files. Root must
// neither write, chown nor chmod those files: the links are replaced (rename), never followed.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildX64, type Staged } from '../installer/release-helper.ts';
import { makeCredentials, modeOf, type Credentials } from '../installer/tree.ts';
import { agentOf, fingerprint, makeVictims, openTemp, requireAttackTools, runAsUser, sh, shAs } from '../installer/attack-rig.ts';

let release: Staged;
let creds: Credentials;
const temps: string[] = [];

before(async () => {
  requireAttackTools();
  release = await buildX64(false);
  creds = await makeCredentials(await openTemp('twinslot-creds-', temps));
});
after(async () => {
  await Promise.all([release.out, ...temps].map((d) => rm(d, { recursive: true, force: true })));
});

function install(root: string, c: Credentials, extra: string[] = []): ReturnType<typeof sh> {
  return sh(join(release.dir, 'install.sh'), ['--root', root, '--thing-name', 'gw-0001', '--endpoint', 'iot.example:8883',
    '--device-type', 'gateway', '--cert', c.cert, '--key', c.key, '--ca', c.ca, '--systemd-version', '252', ...extra]);
}

async function installedRoot(): Promise<{ root: string; certs: string }> {
  const root = await openTemp('twinslot-root-', temps);
  const first = install(root, creds);
  assert.equal(first.code, 0, first.stderr);
  return { root, certs: join(root, 'etc', 'twinslot', 'certs') };
}

/** The admin's new credentials, root-only (0700 directory, 0600 files, CA 0644). */
async function adminCredentials(): Promise<Credentials> {
  const dir = await openTemp('twinslot-rotation-', temps);
  const c = await makeCredentials(dir);
  await chmod(dir, 0o700);
  return c;
}

async function fingerprints(c: Credentials): Promise<string[]> {
  return Promise.all([c.cert, c.key, c.ca].map(fingerprint));
}

async function expectPlaced(certs: string, name: string, mode: string, content: string): Promise<void> {
  const st = await lstat(join(certs, name));
  assert.ok(st.isFile(), `certs/${name} is not a regular file`);
  assert.equal(modeOf(st.mode), mode, `certs/${name}`);
  assert.equal(await readFile(join(certs, name), 'utf8'), content, `certs/${name}`);
}

test('rotation: device.crt, device.key and ca.pem linked at the very files given to install.sh are replaced, not chowned', async () => {
  const { root, certs } = await installedRoot();
  const next = await adminCredentials();
  const before = await fingerprints(next);
  const agent = await agentOf(root);
  const plant = await shAs(agent, `cd '${certs}' && ln -sfn '${next.cert}' device.crt && ln -sfn '${next.key}' device.key && ln -sfn '${next.ca}' ca.pem`);
  assert.equal(plant.code, 0, plant.stderr);

  const r = install(root, next, ['--upgrade']);
  assert.deepEqual(await fingerprints(next), before, 'root changed the admin\'s files the links pointed at');
  assert.equal(r.code, 0, r.stderr);
  await expectPlaced(certs, 'device.crt', '0644', await readFile(next.cert, 'utf8'));
  await expectPlaced(certs, 'device.key', '0600', await readFile(next.key, 'utf8'));
  await expectPlaced(certs, 'ca.pem', '0644', await readFile(next.ca, 'utf8'));
  const key = await lstat(join(certs, 'device.key'));
  assert.deepEqual([key.uid, key.gid], [agent.uid, agent.gid]);
});

test('rotation: certs/device.crt linked at a root file with other content is replaced by the new certificate', async () => {
  const { root, certs } = await installedRoot();
  const victims = await makeVictims(temps);
  const before = await fingerprint(victims.file);
  const agent = await agentOf(root);
  assert.equal((await shAs(agent, `ln -sfn '${victims.file}' '${certs}/device.crt'`)).code, 0);
  const next = await adminCredentials();
  const r = install(root, next);
  assert.equal(await fingerprint(victims.file), before);
  assert.equal(r.code, 0, r.stderr);
  await expectPlaced(certs, 'device.crt', '0644', await readFile(next.cert, 'utf8'));
});

// Links the names at the victim again and again (symlink + rename, microseconds apart) while
// the installer runs, so any moment root spends on a path in certs/ finds the link there.
const RACER = (certs: string, victim: string, stop: string): string => `
import { existsSync, renameSync, symlinkSync } from 'node:fs';
const names = ['device.crt', 'device.key', 'ca.pem'].flatMap((n) => [n, n + '.twinslot-new', n + '.new', n + '.tmp']);
const deadline = Date.now() + 120_000;
let rounds = 0;
while (!existsSync(${JSON.stringify(stop)}) && Date.now() < deadline) {
  for (const n of names) {
    try { symlinkSync(${JSON.stringify(victim)}, ${JSON.stringify(certs)} + '/.racer'); renameSync(${JSON.stringify(certs)} + '/.racer', ${JSON.stringify(certs)} + '/' + n); } catch {}
  }
  rounds++;
}
console.log(rounds);
`;

test('rotation while the agent keeps re-linking the credentials and their temp names at a root file', async () => {
  const { root, certs } = await installedRoot();
  const victims = await makeVictims(temps);
  const before = await fingerprint(victims.file);
  const agent = await agentOf(root);
  const stop = join(victims.dir, 'stop');
  const racer = runAsUser(agent, [process.execPath, '--input-type=module', '-e', RACER(certs, victims.file, stop)]);
  const next = await adminCredentials();
  await new Promise((res) => setTimeout(res, 300)); // the racer is looping
  const r = install(root, next);
  await writeFile(stop, '');
  const raced = await racer;
  assert.ok(Number(raced.stdout.trim()) > 0, `the racer did not run: ${raced.stderr}`);
  assert.equal(await fingerprint(victims.file), before, 'root wrote, chowned or chmodded the victim through a link');
  assert.equal(r.code, 0, r.stderr);
});
