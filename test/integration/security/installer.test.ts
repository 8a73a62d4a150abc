// Attacks on install.sh through the slots: the agent's real uid (the one install.sh gave
// `twinslot` in the root's passwd) plants symlinks where root works on a re-run (the documented
// upgrade), and tries to change the seeded app. Root must not chown, chmod or write what the
// links point at: the installer refuses with a clear message, and never re-owns a slot.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { chown, lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBundle } from '../../../bundle/create.ts';
import { generateKeyPair } from '../../../bundle/keys.ts';
import { buildX64, type Staged } from '../installer/release-helper.ts';
import { makeCredentials, modeOf, type Credentials } from '../installer/tree.ts';
import { agentOf, fingerprint, makeVictims, openTemp, requireAttackTools, sh, shAs, type Victims } from '../installer/attack-rig.ts';

let release: Staged;
let creds: Credentials;
let bundle: string;
let trustPem: string;
const temps: string[] = [];

before(async () => {
  requireAttackTools();
  release = await buildX64(false);
  const work = await openTemp('twinslot-attack-', temps);
  creds = await makeCredentials(work);
  const signer = generateKeyPair('ecdsa-p256');
  trustPem = join(work, 'release.pem');
  await writeFile(trustPem, signer.publicPem);
  const src = await mkdtemp(join(work, 'src-'));
  await writeFile(join(src, 'app.mjs'), "console.log('app');\n", { mode: 0o666 });
  bundle = join(work, 'app.tar');
  await createBundle(src, {
    name: 'app', version: '1.0.0', compatible: ['gateway'], createdAt: new Date(0).toISOString(),
    entrypoint: { command: ['node', 'app.mjs'], user: 'twinslot-app' },
  }, createPrivateKey(signer.privatePem), bundle, { gzip: true });
});
after(async () => {
  await Promise.all([release.out, ...temps].map((d) => rm(d, { recursive: true, force: true })));
});

const install = (root: string, extra: string[] = []): ReturnType<typeof sh> => sh(join(release.dir, 'install.sh'), [
  '--root', root, '--thing-name', 'gw-0001', '--endpoint', 'iot.example:8883', '--device-type', 'gateway',
  '--cert', creds.cert, '--key', creds.key, '--trust', trustPem, '--systemd-version', '252', ...extra]);
const upgrade = (root: string): ReturnType<typeof sh> => sh(join(release.dir, 'install.sh'), ['--root', root, '--upgrade', '--systemd-version', '252']);

async function installed(): Promise<{ root: string; slots: string; victims: Victims; before: string[] }> {
  const root = await openTemp('twinslot-root-', temps);
  const first = install(root);
  assert.equal(first.code, 0, first.stderr);
  const victims = await makeVictims(temps);
  return { root, slots: join(root, 'var', 'lib', 'twinslot', 'slots'), victims, before: [await fingerprint(victims.file), await fingerprint(victims.tree)] };
}

async function assertUntouched(v: Victims, before: string[]): Promise<void> {
  assert.deepEqual([await fingerprint(v.file), await fingerprint(v.tree)], before, 'root changed the victim the link pointed at');
}

for (const slot of ['a', 'b']) {
  test(`slots/${slot} replaced by a symlink (slots/ still the agent's from an earlier installer): the upgrade refuses, the target is untouched`, async () => {
    const { root, slots, victims, before } = await installed();
    const agent = await agentOf(root);
    await chown(slots, agent.uid, agent.gid); // how earlier installers left it
    const plant = await shAs(agent, `cd '${slots}' && mv ${slot} ${slot}.gone && ln -s '${victims.tree}' ${slot}`);
    assert.equal(plant.code, 0, plant.stderr);

    const r = upgrade(root);
    await assertUntouched(victims, before);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`/var/lib/twinslot/slots/${slot} is a symbolic link, not a directory`));
    assert.doesNotMatch(r.stdout, /installed release|wrote/, 'refused before anything changed');
  });
}

test('slots/ is root-owned: the agent cannot plant in it; a slot handed to the agent is neither re-owned nor entered', async () => {
  const { root, slots, victims, before } = await installed();
  const agent = await agentOf(root);
  const denied = await shAs(agent, `ln -s '${victims.tree}' '${slots}/c'`);
  assert.notEqual(denied.code, 0, 'the agent created an entry in slots/');
  assert.match(denied.stderr, /Permission denied/);

  await chown(join(slots, 'b'), agent.uid, agent.gid); // the supervisor's prepare-slot
  const plant = await shAs(agent, `cd '${slots}/b' && ln -s '${victims.file}' manifest.json && ln -s '${victims.tree}' app`);
  assert.equal(plant.code, 0, plant.stderr);
  const slotB = await fingerprint(join(slots, 'b'));
  const r = upgrade(root);
  assert.equal(r.code, 0, r.stderr);
  await assertUntouched(victims, before);
  assert.equal(await fingerprint(join(slots, 'b')), slotB, 'the installer changed slot b, which the supervisor owns');
});

test('the seeded slot a is root-owned and not writable by the agent', async () => {
  const root = await openTemp('twinslot-root-', temps);
  const r = install(root, ['--initial-bundle', bundle]);
  assert.equal(r.code, 0, r.stderr);
  const slotA = join(root, 'var', 'lib', 'twinslot', 'slots', 'a');
  for (const p of [slotA, join(slotA, 'app.mjs'), join(slotA, 'manifest.json')]) {
    const st = await lstat(p);
    assert.equal(`${st.uid}:${st.gid}`, '0:0', `${p} is not root-owned`);
    assert.equal(st.mode & 0o022, 0, `${p} is group/other writable (${modeOf(st.mode)})`);
  }
  const agent = await agentOf(root);
  const write = await shAs(agent, `echo evil > '${slotA}/app.mjs' || echo evil > '${slotA}/evil.mjs'`);
  assert.notEqual(write.code, 0, 'the agent changed the committed app');
});
