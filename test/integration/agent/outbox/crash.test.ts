// 10,000 messages enqueued offline, the agent process killed -9 twice while enqueuing and once
// while draining: every acknowledged enqueue is delivered at least once, in order, none lost.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker } from '../../../helpers/broker.ts';
import { rawTestConfig } from '../../../fixtures/agent/config.ts';
import { observe, runLinkProcess, until } from '../../../fixtures/agent/support.ts';

const TOTAL = 10_000;
const TOPIC = 'twinslot/dev-o/telemetry';

function lastAcked(lines: Array<Record<string, unknown>>): number {
  let last = -1;
  for (const l of lines) if (typeof l['acked'] === 'number') last = l['acked'];
  return last;
}

test('outbox survives kill -9 during enqueue and drain: every acknowledged message delivered in order', async (t) => {
  const tb = await startTestBroker(t, { privileged: ['observer'] });
  const creds = await tb.thing('dev-o');
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-outbox-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agentDir = join(dir, 'agent');
  const obs = await observe(t, tb, TOPIC);
  // Offline: the only endpoint is a closed port.
  const offline = rawTestConfig({ thingName: 'dev-o', creds, caPath: tb.pki.caCert, ports: [1], outbox: { maxMessages: 20_000 } });
  const online = rawTestConfig({ thingName: 'dev-o', creds, caPath: tb.pki.caCert, ports: [tb.broker.port], outbox: { maxMessages: 20_000 } });

  let next = 0;
  for (const killAt of [3000, 6500]) {
    const p = await runLinkProcess(dir, offline, agentDir, ['--enqueue', TOPIC, String(next), String(TOTAL - next)]);
    await until(`enqueued past ${killAt}`, () => lastAcked(p.lines) >= killAt, 120_000);
    await p.kill9();
    next = lastAcked(p.lines) + 1;
  }
  const rest = await runLinkProcess(dir, offline, agentDir, ['--enqueue', TOPIC, String(next), String(TOTAL - next)]);
  await until('all enqueued', () => rest.lines.some((l) => l['enqueued'] === true), 120_000);
  await rest.kill9();
  assert.equal(lastAcked(rest.lines), TOTAL - 1);

  const drain = await runLinkProcess(dir, online, agentDir);
  await until('part drained', () => obs.messages(TOPIC).length >= 2500, 120_000);
  await drain.kill9();
  const final = await runLinkProcess(dir, online, agentDir);
  t.after(() => final.kill9());
  const ns = await until('all delivered', () => {
    const got = obs.messages(TOPIC).map((m) => (JSON.parse(m) as { n: number }).n);
    return new Set(got).size >= TOTAL ? got : undefined;
  }, 180_000);
  const firsts: number[] = [];
  const seen = new Set<number>();
  for (const n of ns) {
    if (seen.has(n)) continue;
    seen.add(n);
    firsts.push(n);
  }
  assert.deepEqual(firsts, Array.from({ length: TOTAL }, (_, i) => i), 'first arrivals in enqueue order, none missing');
  t.diagnostic(`delivered ${ns.length} messages for ${TOTAL} enqueued (${ns.length - TOTAL} duplicates)`);
});
