// Attacks on the supervisor's IPC socket from the agent's own uid (the only non-root user the
// socket's group lets in), all while a trial runs: hang-ups before the answer, garbage, endless
// lines, a subscriber that never reads, more connections than the server takes. The supervisor
// must stay the same process, keep its memory bounded, and give the trial the verdict and the
// attempts it would have had. A user outside the group cannot connect at all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { install, readJournal, subscribe, waitForVersion } from '../supervisor/harness.ts';
import { alive, attackRig, sampleRss } from './ipc-rig.ts';

const RSS_LIMIT_MIB = 100;

// Each attack is an ES module run as the agent user; SOCK is the socket; it prints one JSON line.
const HANG_UPS = `
import { connect } from 'node:net';
let sent = 0;
for (let i = 0; i < 400; i += 1) {
  await new Promise((resolve) => {
    const s = connect(process.env.SOCK);
    s.resume();
    s.on('error', resolve);
    s.on('close', resolve);
    s.on('connect', () => {
      s.write('{"id":' + i + ',"method":"status"}\\n');
      sent += 1;
      // Gone before the answer: a reset, or a half-close the server answers into.
      if (i % 2 === 0) s.destroy(); else s.end();
    });
  });
}
console.log(JSON.stringify({ sent }));
`;

// A connection the server took (it answered \`first\`): one refused by the connection cap while
// the parallel attack holds the places is tried again.
const ACCEPTED = `
import { connect } from 'node:net';
async function accepted(first) {
  for (let i = 0; i < 200; i += 1) {
    const s = connect(process.env.SOCK);
    const ok = await new Promise((resolve) => {
      s.once('data', () => resolve(true));
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
      s.once('connect', () => s.write(first + '\\n'));
    });
    if (ok) return s;
    s.destroy();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never accepted');
}
`;

const GARBAGE = `${ACCEPTED}
import { randomBytes } from 'node:crypto';
const s = await accepted('{"id":0,"method":"status"}');
let answers = 0;
s.on('data', (d) => { answers += d.toString().split('\\n').length - 1; });
s.on('error', () => undefined);
const lines = [
  'not json', 'GET / HTTP/1.1', '\\u0000\\u0000', '{', '}', '[]', 'null', '1e400', '"x"', '{"id":null}',
  '{"id":1,"method":"status","params":null}', '{"id":{"a":1},"method":"status"}', '{"__proto__":{"id":1},"method":"status"}',
  '{"id":1,"method":"agent-status","params":{"pid":"x"}}', '{"id":1,"method":"activate","params":{"slot":"b","jobId":"x","health":{"startTimeoutSeconds":-1}}}',
  '['.repeat(30000), '{"a":'.repeat(10000),
];
for (let round = 0; round < 50; round += 1) {
  for (const l of lines) s.write(l + '\\n');
  s.write(randomBytes(4096));
  s.write(Buffer.from([0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x0a]));
}
for (let i = 0; i < 20000; i += 1) s.write('hello ' + i + '\\n');
await new Promise((r) => setTimeout(r, 1000));
s.destroy();
console.log(JSON.stringify({ answers }));
`;

const ENDLESS = `${ACCEPTED}
const s = await accepted('{"id":0,"method":"status"}');
let closed = false; let answer = '';
s.on('data', (d) => { answer += d.toString(); });
s.on('error', () => { closed = true; });
s.on('close', () => { closed = true; });
const chunk = Buffer.alloc(1024 * 1024, 'a');
let written = 0;
while (!closed && written < 100 * 1024 * 1024) {
  written += chunk.length;
  if (!s.write(chunk)) await new Promise((r) => { s.once('drain', r); s.once('close', r); });
}
if (!closed) await new Promise((r) => setTimeout(r, 2000));
s.destroy();
console.log(JSON.stringify({ written, closedByServer: closed, answer: answer.slice(0, 300) }));
`;

// Subscribes, then never reads again while it asks for status reports as fast as it can.
const NON_READER = `${ACCEPTED}
const s = await accepted('{"id":0,"method":"subscribe"}');
let closed = false;
s.on('error', () => { closed = true; });
s.on('close', () => { closed = true; });
s.pause();
const batch = Array.from({ length: 2000 }, (_, i) => '{"id":' + (i + 1) + ',"method":"status"}\\n').join('');
const started = Date.now();
let sent = 0;
while (!closed && Date.now() - started < 15000 && sent < 40 * 1024 * 1024) {
  sent += batch.length;
  if (!s.write(batch)) await new Promise((r) => { s.once('drain', r); s.once('close', r); setTimeout(r, 500); });
}
s.destroy();
console.log(JSON.stringify({ sent, closedByServer: closed }));
`;

const PARALLEL = `
import { connect } from 'node:net';
const results = await Promise.all(Array.from({ length: 100 }, () => new Promise((resolve) => {
  const s = connect(process.env.SOCK);
  let answered = false;
  s.on('data', () => { answered = true; });
  s.on('error', () => resolve('error'));
  s.on('close', () => resolve(answered ? 'answered' : 'closed'));
  s.on('connect', () => {
    s.write('{"id":1,"method":"status"}\\n');
    setTimeout(() => { s.destroy(); }, 3000);
  });
})));
const count = (k) => results.filter((r) => r === k).length;
console.log(JSON.stringify({ answered: count('answered'), closed: count('closed'), error: count('error') }));
`;

const CONNECT = `
import { connect } from 'node:net';
const s = connect(process.env.SOCK);
const result = await new Promise((resolve) => {
  s.on('connect', () => resolve('connected'));
  s.on('error', (e) => resolve(e.code));
});
s.destroy();
console.log(JSON.stringify({ result }));
`;

test('the socket takes no one outside its group', { timeout: 60_000 }, async (t) => {
  const rig = await attackRig(t);
  assert.deepEqual(await rig.attack(rig.users.nobody, CONNECT), { result: 'EACCES' });
  assert.deepEqual(await rig.attack(rig.users.app, CONNECT), { result: 'EACCES' });
  assert.deepEqual(await rig.attack(rig.users.agent, CONNECT), { result: 'connected' });
});

test('IPC attacks from the agent uid during a trial: same supervisor, bounded memory, the trial\'s own verdict', { timeout: 240_000 }, async (t) => {
  const rig = await attackRig(t);
  const { sup, device } = rig;
  const pid = sup.child.pid ?? 0;
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  await waitForVersion(rig.port, '1.0.0');
  const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port: rig.port, health: { probationSeconds: 20 } });
  const activated = await client.request('activate', { slot, jobId: 'trial-under-attack' });
  assert.equal(activated.attemptsLeft, 2);
  await waitForVersion(rig.port, '2.0.0');
  await sup.waitLog('probation-started');

  const rss = sampleRss(pid);
  t.after(() => rss.stop());
  const petTimes = (): number[] => readJournal(device).filter((e) => e.op === 'pet').map((e) => e.at); // monotonic ms
  const petsBefore = petTimes().length;
  // While the attacks run, the trial keeps its attempts (polled through a connection of its own).
  const seen: number[] = [];
  let attacking = true;
  const poll = (async () => {
    while (attacking) {
      const s = await Promise.race([client.request('status').catch(() => null), sleep(2000).then(() => null)]);
      if (s?.trial) seen.push(s.trial.attemptsLeft);
      await sleep(250);
    }
  })();
  const agent = rig.users.agent;
  let results: Array<Record<string, unknown>>;
  try {
    results = await Promise.all([
      rig.attack(agent, HANG_UPS),
      rig.attack(agent, GARBAGE),
      rig.attack(agent, ENDLESS),
      rig.attack(agent, NON_READER),
      rig.attack(agent, PARALLEL),
    ]);
  } finally {
    attacking = false;
    await poll;
  }
  // The pets went on: no gap as long as the watchdog's timeout (3 s), which would reset a device.
  const pets = petTimes().slice(Math.max(0, petsBefore - 1));
  const gap = Math.max(...pets.slice(1).map((at, i) => at - (pets[i] ?? at)));
  t.diagnostic(`attacks: ${JSON.stringify(results)}; max RSS ${rss.max.toFixed(1)} MiB; longest pet gap ${gap} ms over ${pets.length} pets`);
  assert.ok(pets.length >= 2 && gap < 3000, `pets during the attacks: ${pets.length}, longest gap ${gap} ms`);

  assert.ok(alive(pid), `the supervisor is still running: ${JSON.stringify(sup.logs.filter((l) => l.level === 'error' || l.level === 'fatal').slice(-3))}`);
  assert.equal(sup.child.exitCode, null);
  assert.equal(sup.logs.some((l) => l.event === 'supervisor-failed'), false);
  const [, , endless, nonReader] = results;
  assert.equal(endless?.closedByServer, true, 'an endless line ends its connection');
  assert.match(String(endless?.answer), /BAD_REQUEST/);
  assert.ok(Number(endless?.written) < 100 * 1024 * 1024, 'long before 100 MiB');
  assert.equal(nonReader?.closedByServer, true, 'a client that does not read its answers is dropped');

  // A new connection is served, the trial still has the attempts activate gave it, and it commits.
  const fresh = await sup.client();
  t.after(() => fresh.close());
  const during = await fresh.request('status');
  assert.equal(during.pid, pid);
  if (during.trial) assert.equal(during.trial.attemptsLeft, 2);
  assert.ok(seen.length > 0 && seen.every((n) => n === 2), `attempts left while attacked: ${seen.join(',')}`);
  const committed = await events.next('committed');
  assert.deepEqual([committed.slot, committed.jobId], [slot, 'trial-under-attack']);
  const after = await fresh.request('status');
  assert.equal(after.lastOutcome?.kind, 'committed');
  assert.equal(after.counters?.trials, 1, 'one attempt counted');
  rss.stop();
  assert.ok(rss.max < RSS_LIMIT_MIB, `supervisor RSS peaked at ${rss.max.toFixed(1)} MiB`);
  assert.ok(alive(pid));
});
