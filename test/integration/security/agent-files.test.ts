// The agent's state dir is the agent's to write: root must never read through it. As the agent
// user, status.json is replaced by a symlink to a root-only secret, then by a FIFO. The
// supervisor's `status` must not carry the secret and must keep answering while the watchdog
// keeps being petted; `twinslot status` with no supervisor (run by root, the worst case) reads
// the file itself without following the link or blocking on the FIFO.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { killSupervisor, readJournal, waitForVersion } from '../supervisor/harness.ts';
import { runAs } from '../../helpers/users.ts';
import { attackRig } from './ipc-rig.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'twinslot.js');
const run = promisify(execFile);

// Asks for `status` as the script's user and prints the raw answer line, or a timeout.
const STATUS = `
import { connect } from 'node:net';
const s = connect(process.env.SOCK);
let buf = '';
const done = (out) => { console.log(JSON.stringify(out)); process.exit(0); };
setTimeout(() => done({ timeout: true }), 15000);
s.on('error', (e) => done({ error: e.code }));
s.on('data', (d) => { buf += d.toString(); if (buf.includes('\\n')) done({ answer: buf.split('\\n')[0] }); });
s.on('connect', () => s.write('{"id":1,"method":"status"}\\n'));
`;

test('status.json as a symlink to a root-only file: no secret in the status answer nor in `twinslot status`', { timeout: 90_000 }, async (t) => {
  const rig = await attackRig(t);
  const { device, users } = rig;
  const secret = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
  const secretFile = join(device.root, 'secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const link = await runAs(users.agent, ['ln', '-sfn', secretFile, device.paths.agentStatus]);
  assert.equal(link.code, 0, link.stderr);
  assert.notEqual((await runAs(users.agent, ['cat', device.paths.agentStatus])).code, 0, 'the agent itself cannot read the secret');

  const asAgent = await rig.attack(users.agent, STATUS);
  assert.equal(typeof asAgent.answer, 'string', JSON.stringify(asAgent));
  assert.ok(!String(asAgent.answer).includes(secret), 'the agent got the secret through the supervisor');
  assert.equal((JSON.parse(String(asAgent.answer)) as { ok: boolean }).ok, true);
  const live = await run(process.execPath, [BIN, 'status', '--root', device.root, '--json']);
  assert.ok(!live.stdout.includes(secret));

  // No supervisor: the CLI (root here) reads the file itself and does not follow the link.
  await killSupervisor(rig.sup);
  const offline = await run(process.execPath, [BIN, 'status', '--root', device.root, '--json']);
  assert.ok(!offline.stdout.includes(secret) && !offline.stderr.includes(secret));
  assert.equal((JSON.parse(offline.stdout) as { agent?: unknown }).agent, undefined);
  assert.match(offline.stderr, /symbolic link/);
});

test('status.json as a FIFO: the supervisor keeps petting the watchdog and answering status', { timeout: 90_000 }, async (t) => {
  const rig = await attackRig(t);
  const { device, users } = rig;
  await waitForVersion(rig.port, '1.0.0');
  const made = await runAs(users.agent, ['mkfifo', device.paths.agentStatus]);
  assert.equal(made.code, 0, made.stderr);

  const first = await rig.attack(users.agent, STATUS);
  assert.equal(typeof first.answer, 'string', `no status answer with a FIFO in the agent's dir: ${JSON.stringify(first)}`);
  const pets = (): number => readJournal(device).filter((e) => e.op === 'pet').length;
  const before = pets();
  while (pets() < before + 3) await sleep(200); // a pet every second (3 s timeout)
  const second = await rig.attack(users.agent, STATUS);
  assert.equal(typeof second.answer, 'string', JSON.stringify(second));
  const client = await rig.sup.client();
  t.after(() => client.close());
  assert.equal((await client.request('status')).running, true);

  // No supervisor: the CLI does not block on the FIFO either.
  await killSupervisor(rig.sup);
  const offline = await run(process.execPath, [BIN, 'status', '--root', device.root, '--json'], { timeout: 20_000 });
  assert.equal((JSON.parse(offline.stdout) as { agent?: unknown }).agent, undefined);
  assert.match(offline.stderr, /not a regular file/);
});
