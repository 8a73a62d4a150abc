// Attacks on the slot boundary, each run as the real agent user (setpriv) against the real
// supervisor running as root on a device laid out as install.sh lays it out. Each checks its
// effect on the victim (a root-only file, a root-owned directory) and on the running app, and
// fails if the attack works.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAs, nodeAs } from '../../helpers/users.ts';
import { fillSlot, freePort, httpGet, waitForVersion } from '../supervisor/harness.ts';
import { secureDevice, type SecureDevice } from './device-rig.ts';

const isRoot = process.getuid?.() === 0;
const opts = { skip: !isRoot && 'attack tests run the supervisor as root', timeout: 180_000 };

async function refusal(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('the request was not refused');
}

// The victim directory and its file are exactly as the rig made them.
function assertVictimIntact(s: SecureDevice): void {
  const dir = statSync(s.victim.dir);
  assert.equal(dir.uid, 0, 'the victim directory is still root\'s');
  assert.equal(readFileSync(s.victim.dirFile, 'utf8'), 'keep\n', 'the victim directory still holds its file');
  const file = statSync(s.victim.file);
  assert.deepEqual([file.uid, file.mode & 0o777], [0, 0o600], 'the root-only file keeps its owner and mode');
}

// Fills the prepared slot as the agent would, then hands it to the agent's user.
function fillAsAgent(s: SecureDevice, slot: 'a' | 'b', version: string, port: number): void {
  fillSlot(s.device.paths, slot, { fixture: 'healthy-http.mjs', version, port });
  const dir = s.device.paths.slot(slot);
  for (const name of readdirSync(dir)) chownSync(join(dir, name), s.users.agent.uid, s.users.agent.gid);
}

test('the agent cannot swap a slot for a symlink: prepare-slot never empties or chowns what it points to', opts, async (t) => {
  const s = await secureDevice(t, { legacyLayout: true });
  const slots = s.device.paths.slotsDir;
  // An older installer gave slots/ to the agent; the supervisor took it back at its start.
  assert.equal(statSync(slots).uid, 0, 'slots/ is root\'s');
  const swap = await runAs(s.users.agent, ['sh', '-c', `mv ${slots}/b ${slots}/b.old && ln -s ${s.victim.dir} ${slots}/b`]);
  assert.notEqual(swap.code, 0, 'the agent cannot rename or replace a slot entry');
  const { slot, path } = await s.client.request('prepare-slot');
  assert.equal(slot, 'b');
  assert.equal(statSync(path).uid, s.users.agent.uid, 'the fresh slot is the agent\'s to fill');
  assertVictimIntact(s);
});

test('a slot the agent planted as a symlink before the supervisor started goes to the trash, not through it', opts, async (t) => {
  const s = await secureDevice(t);
  const { device } = s;
  await s.client.request('prepare-slot'); // slot b lent to the agent
  // Simulate the old layout, where slots/ was the agent's: plant slots/b -> victim, then restart.
  s.client.close();
  s.sup.child.kill('SIGTERM');
  await s.sup.exited;
  chownSync(device.paths.slotsDir, s.users.agent.uid, s.users.agent.gid);
  const plant = await runAs(s.users.agent, ['sh', '-c', `rm -rf ${device.paths.slot('b')} && ln -s ${s.victim.dir} ${device.paths.slot('b')}`]);
  assert.equal(plant.code, 0, plant.stderr);
  const { startSupervisor, teardown } = await import('../supervisor/harness.ts');
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(s.port, '1.0.0');
  assert.equal(statSync(device.paths.slotsDir).uid, 0, 'slots/ taken back at start');
  assert.ok(statSync(device.paths.slot('b'), { throwIfNoEntry: true }).isDirectory(), 'slot b is a real directory again');
  const client = await sup.client();
  t.after(() => client.close());
  await client.request('prepare-slot');
  assertVictimIntact(s);
});

test('after slot-ready the slot is root\'s: the agent can change nothing the supervisor verified', opts, async (t) => {
  const s = await secureDevice(t);
  const { slot, path } = await s.client.request('prepare-slot');
  fillAsAgent(s, slot, '2.0.0', await freePort());
  await s.client.request('slot-ready', { slot });
  const write = await runAs(s.users.agent, ['sh', '-c', `echo 'process.exit(0)' > ${path}/healthy-http.mjs; touch ${path}/new; chmod 777 ${path}`]);
  assert.notEqual(write.code, 0, 'the agent cannot write the slot any more');
  assert.equal(existsSync(join(path, 'new')), false);
  assert.doesNotMatch(readFileSync(join(path, 'healthy-http.mjs'), 'utf8'), /^process\.exit/);
  assert.equal(statSync(path).mode & 0o777, 0o755);
});

test('slot-ready never reads through a symlink the agent planted, nor quotes what it points to', opts, async (t) => {
  const s = await secureDevice(t);
  const { slot, path } = await s.client.request('prepare-slot');
  fillAsAgent(s, slot, '2.0.0', await freePort());
  const plant = await runAs(s.users.agent, ['sh', '-c', `rm ${path}/manifest.json && ln -s ${s.victim.file} ${path}/manifest.json`]);
  assert.equal(plant.code, 0, plant.stderr);
  const err = await refusal(s.client.request('slot-ready', { slot }));
  assert.equal(err.code, 'SLOT_CONTENT_INVALID');
  assert.match(err.message, /manifest\.json: is a symlink, not a file/);
  assert.doesNotMatch(err.message, new RegExp(s.victim.secret));
  assert.equal((await s.client.request('status')).slots[slot].status, 'installing');
  assertVictimIntact(s);
});

test('a file the agent still holds open for writing makes slot-ready refuse (SLOT_BUSY): what runs is what was hashed', opts, async (t) => {
  const s = await secureDevice(t);
  const { slot, path } = await s.client.request('prepare-slot');
  fillAsAgent(s, slot, '2.0.0', await freePort());
  const file = join(path, 'healthy-http.mjs');
  // The agent opens the file for writing, waits for the supervisor to hash it, then writes.
  const holder = nodeAs(s.users.agent, `
    import { openSync, writeSync } from 'node:fs';
    const fd = openSync(${JSON.stringify(file)}, 'r+');
    process.stdout.write('open\\n');
    setTimeout(() => { writeSync(fd, 'process.exit(1)//', 0); }, 3000);
  `);
  for (let i = 0; i < 100 && !(await pidsWriting(file)); i += 1) await new Promise((r) => setTimeout(r, 50));
  const err = await refusal(s.client.request('slot-ready', { slot }));
  assert.equal(err.code, 'SLOT_BUSY');
  assert.match(err.message, /healthy-http\.mjs open for writing/);
  await holder;
  assert.equal((await s.client.request('status')).slots[slot].status, 'installing');
});

test('a manifest may not choose the app\'s account: another user, the agent\'s own, root', opts, async (t) => {
  const s = await secureDevice(t);
  for (const user of ['daemon', s.users.agent.name, 'root']) {
    const { slot } = await s.client.request('prepare-slot');
    fillSlot(s.device.paths, slot, { fixture: 'healthy-http.mjs', version: '2.0.0', port: await freePort(), user });
    const err = await refusal(s.client.request('slot-ready', { slot }));
    assert.equal(err.code, 'APP_USER_NOT_ALLOWED', `${user}: ${err.message}`);
  }
  assert.equal(await httpGet(s.port), '1.0.0', 'the committed app was never stopped');
});

test('command probes run as the app\'s user with no supplementary groups, never as root', opts, async (t) => {
  const s = await secureDevice(t);
  const out = join(s.device.root, 'probe-out');
  const { mkdirSync, chmodSync } = await import('node:fs');
  mkdirSync(out);
  chmodSync(out, 0o1777);
  const port = await freePort();
  const { slot } = await s.client.request('prepare-slot');
  fillSlot(s.device.paths, slot, {
    fixture: 'healthy-http.mjs', version: '2.0.0', port,
    // Written once (the probe runs every 100 ms): `done` says both files are complete.
    health: { command: { argv: ['sh', '-c', `[ -e ${out}/done ] || { id -u > ${out}/uid; id -G > ${out}/groups; touch ${out}/done; }`], intervalMs: 100 } },
  });
  await s.client.request('slot-ready', { slot });
  await s.client.request('activate', { slot, jobId: 'probe-identity' });
  await waitForVersion(port, '2.0.0');
  for (let i = 0; i < 600 && !existsSync(join(out, 'done')); i += 1) await new Promise((r) => setTimeout(r, 50));
  assert.equal(readFileSync(join(out, 'uid'), 'utf8').trim(), String(s.users.app.uid));
  assert.equal(readFileSync(join(out, 'groups'), 'utf8').trim(), String(s.users.app.gid));
  assert.equal(statSync(join(out, 'uid')).uid, s.users.app.uid, 'the probe\'s file is not root\'s');
});

test('an activate request cannot carry a command probe (BAD_REQUEST) nor aim an HTTP probe off the device', opts, async (t) => {
  const s = await secureDevice(t);
  const { slot } = await s.client.request('prepare-slot');
  const port = await freePort();
  fillSlot(s.device.paths, slot, { fixture: 'healthy-http.mjs', version: '2.0.0', port });
  await s.client.request('slot-ready', { slot });
  const marker = join(s.device.root, 'pwned');
  // Sent as the agent's user over the socket, as a compromised agent would.
  const attack = await nodeAs(s.users.agent, `
    import { connectSupervisor } from ${JSON.stringify(join(import.meta.dirname, '../../../ipc/client.ts'))};
    const c = await connectSupervisor(${JSON.stringify(s.device.paths.supervisorSocket)});
    const out = [];
    for (const health of [{ command: { argv: ['sh', '-c', 'touch ${marker}'] } }, { http: { url: 'http://10.0.0.1:80/' } }]) {
      try { await c.request('activate', { slot: '${slot}', jobId: 'attack', health }); out.push('accepted'); }
      catch (err) { out.push(err.code); }
    }
    c.close();
    console.log(JSON.stringify(out));
  `);
  assert.deepEqual(JSON.parse(attack.stdout.trim()), ['BAD_REQUEST', 'HEALTH_NOT_ALLOWED'], attack.stderr);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(existsSync(marker), false, 'nothing ran');
  assert.equal((await s.client.request('status')).trial, null, 'no trial started');
  assert.equal(await httpGet(s.port), '1.0.0');
});

test('a slot changed as root after it was recorded is not started (SLOT_MANIFEST_CHANGED)', opts, async (t) => {
  const s = await secureDevice(t);
  const manifest = join(s.device.paths.slot('a'), 'manifest.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"1.0.0"', '"1.0.1"'));
  await s.client.request('restart-app');
  const refused = await s.sup.waitLog('app-start-failed', (l) => l.code === 'SLOT_MANIFEST_CHANGED');
  assert.match(String(refused.err), /not the one recorded at slot-ready/);
  assert.equal(await httpGet(s.port), null, 'the changed slot does not run');
});

async function pidsWriting(file: string): Promise<boolean> {
  const { slotWriters } = await import('../../../supervisor/slot-writers.ts');
  return (await slotWriters(join(file, '..'))).length > 0;
}

test('a prepare-slot cut short (old content in the trash, no slot directory) is finished at the next start', opts, async (t) => {
  const s = await secureDevice(t);
  const { device } = s;
  s.client.close();
  s.sup.child.kill('SIGKILL');
  await s.sup.exited;
  // What a SIGKILL between the rename into the trash and the new mkdir leaves: agent-owned
  // directories in the trash, and no slots/b.
  const { mkdirSync, renameSync, symlinkSync } = await import('node:fs');
  const left = join(device.paths.trashDir, 'b-1-cafe');
  mkdirSync(join(left, 'deep', 'er'), { recursive: true });
  writeFileSync(join(left, 'deep', 'er', 'f'), 'x');
  symlinkSync(s.victim.dir, join(left, 'deep', 'to-victim'));
  for (const d of [left, join(left, 'deep'), join(left, 'deep', 'er')]) chownSync(d, s.users.agent.uid, s.users.agent.gid);
  renameSync(device.paths.slot('b'), join(device.paths.trashDir, 'b-2-beef'));
  const { startSupervisor, teardown, killRecordedApp } = await import('../supervisor/harness.ts');
  killRecordedApp(device);
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(s.port, '1.0.0');
  assert.deepEqual(readdirSync(device.paths.trashDir), [], 'the trash was emptied');
  assert.ok(statSync(device.paths.slot('b')).isDirectory(), 'slot b is back');
  assertVictimIntact(s);
});

test('an agent process holding a directory inside the slot cannot plant anything in it while prepare-slot deletes it', opts, async (t) => {
  const s = await secureDevice(t);
  const { slot, path } = await s.client.request('prepare-slot');
  fillSlot(s.device.paths, slot, { fixture: 'healthy-http.mjs', version: '2.0.0', port: await freePort(), tree: [{ type: 'dir', path: 'deep' }, { type: 'dir', path: 'deep/er' }] });
  for (const d of ['deep', 'deep/er']) chownSync(join(path, d), s.users.agent.uid, s.users.agent.gid);
  // The agent keeps its cwd in the slot and tries, over and over, to plant a symlink to the
  // victim and a directory there, until told to stop; it reports what it managed.
  const stop = join(s.device.root, 'stop-planting');
  const planter = nodeAs(s.users.agent, `
    import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
    process.chdir(${JSON.stringify(join(path, 'deep', 'er'))});
    let planted = 0, refused = '';
    process.stdout.write('');
    for (let i = 0; !existsSync(${JSON.stringify(stop)}); i++) {
      try { symlinkSync(${JSON.stringify(s.victim.dir)}, 'l' + i); mkdirSync('d' + i); planted++; } catch (err) { refused = err.code; }
      await new Promise((r) => setTimeout(r, 1));
    }
    console.log(JSON.stringify({ planted, refused }));
  `);
  await new Promise((r) => setTimeout(r, 300)); // the planter is at work
  const next = await s.client.request('prepare-slot'); // empties the same slot again
  assert.equal(next.slot, slot);
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(stop, '');
  const result = await planter;
  const report = JSON.parse(result.stdout.trim()) as { planted: number; refused: string };
  assert.ok(report.planted > 0, `the planter ran before the slot was emptied: ${result.stdout}${result.stderr}`);
  assert.match(report.refused, /^(EACCES|ENOENT)$/, 'after prepare-slot the agent\'s old directory takes nothing');
  assert.deepEqual(readdirSync(path), [], 'the fresh slot is empty');
  assert.deepEqual(readdirSync(s.device.paths.trashDir), [], 'the old content is gone');
  assertVictimIntact(s);
});
