// 200 things, one lightweight MQTT client each (MQTT.js: 200 CRT clients in one test process
// would cost far more than the behaviour under test). A job with maximumPerMinute reaches
// exactly that many things per minute [S6 rollout], driven by a manual clock, and no thing is
// told about it twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { ManualClock, startTestEmulator, waitFor } from './helpers.ts';

const THINGS = Array.from({ length: 200 }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
const RATE = 50;

test('maximumPerMinute rolls a job out at that rate to 200 things, each told once', { timeout: 240_000 }, async (t) => {
  const clock = new ManualClock();
  const em = await startTestEmulator(t, { clock });
  const ca = await readFile(em.caPath);
  const heard = new Map<string, { next: string[]; notify: string[] }>();
  const clients = await Promise.all(THINGS.map(async (thing) => {
    const creds = await em.createThing(thing);
    const [cert, key] = await Promise.all([readFile(creds.certPath), readFile(creds.keyPath)]);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${em.port}`, { ca, cert, key, clientId: thing, protocolVersion: 5, reconnectPeriod: 0 });
    const log = { next: [] as string[], notify: [] as string[] };
    heard.set(thing, log);
    client.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as { execution?: { jobId: string }; jobs?: { QUEUED?: { jobId: string }[] } };
      if (topic.endsWith('/notify-next') && body.execution) log.next.push(body.execution.jobId);
      if (topic.endsWith('/notify')) log.notify.push((body.jobs?.QUEUED ?? []).map((j) => j.jobId).join(','));
    });
    await client.subscribeAsync([`$aws/things/${thing}/jobs/notify-next`, `$aws/things/${thing}/jobs/notify`], { qos: 1 });
    return client;
  }));
  t.after(() => Promise.all(clients.map((c) => c.endAsync(true))));

  em.createJob({ jobId: 'fleet-update', targets: THINGS, document: '{"operation":"install"}', jobExecutionsRolloutConfig: { maximumPerMinute: RATE } });
  const told = (): number => [...heard.values()].filter((h) => h.next.includes('fleet-update')).length;
  for (let minute = 1; minute <= THINGS.length / RATE; minute++) {
    const expected = minute * RATE;
    assert.equal(em.listJobExecutions('fleet-update').executionSummaries.length, expected);
    await waitFor(`${expected} things told`, () => (told() >= expected ? true : undefined));
    clock.advance(60_000);
    em.tick();
  }

  // A second job without a rollout reaches everyone; per-client ordering makes it a barrier
  // after which a duplicate of the first job's notify-next would already have arrived.
  em.createJob({ jobId: 'barrier', targets: THINGS, document: '{"operation":"report"}' });
  await waitFor('the barrier job everywhere', () => ([...heard.values()].every((h) => h.notify.some((n) => n.includes('barrier'))) ? true : undefined));
  for (const [thing, h] of heard) {
    assert.deepEqual(h.next, ['fleet-update'], `${thing} notify-next`);
    assert.equal(h.notify.filter((n) => n === 'fleet-update').length, 1, `${thing} notify`);
  }
  assert.equal(told(), THINGS.length);
});
