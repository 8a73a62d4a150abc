// 200 real agent connections (4 processes × 50, since one Mqtt5Client per connection is heavy)
// on one Mosquitto that is killed -9 and restarted: the reconnect attempts must be spread by
// the full-jitter backoff (peak attempts in any second ≤ 30% of the fleet), and every client
// must be connected again in the end. Attempts are timed by each connection's own `connecting`
// event and cross-checked with the broker's log (`connection_messages true`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionEvent } from '../../../../agent/connection/machine.ts';
import { startTestBroker } from '../../../helpers/broker.ts';
import { rawTestConfig } from '../../../fixtures/agent/config.ts';
import { until } from '../../../fixtures/agent/support.ts';

const PROCESSES = 4;
const PER_PROCESS = 50;
const FLEET = PROCESSES * PER_PROCESS;
const PEAK_SHARE = 0.3;
const DOWN_MS = 3000;

interface Seen {
  n: number;
  at: number;
  event: ConnectionEvent;
}

/** Attempts per whole second since `from`, keyed by the second. */
function perSecond(times: number[], from: number): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const at of times) {
    const s = Math.floor((at - from) / 1000);
    buckets.set(s, (buckets.get(s) ?? 0) + 1);
  }
  return buckets;
}

/** Epoch ms of each "New connection from" line the broker logged since its last start. */
async function brokerAttempts(logPath: string): Promise<number[]> {
  const lines = (await readFile(logPath, 'utf8')).split('\n');
  const started = lines.findLastIndex((l) => / starting$/.test(l) && l.includes('mosquitto version'));
  return lines
    .slice(started + 1)
    .filter((l) => l.includes('New connection from'))
    .map((l) => new Date(l.slice(0, l.indexOf(': '))).getTime());
}

test('200 clients whose broker restarts: attempts spread by jitter, all reconnect', { timeout: 180_000 }, async (t) => {
  const tb = await startTestBroker(t, { saveOnEveryChange: false });
  const creds = await tb.thing('fleet');
  // Base 10 s: the first retry of each client is drawn from [0, 10 s); clients that hit the
  // dead broker draw again from [0, 20 s). Keep-alive is long: loss is seen by the socket.
  const raw = rawTestConfig({
    thingName: 'fleet',
    clientId: 'fleet',
    creds,
    caPath: tb.pki.caCert,
    ports: [tb.broker.port],
    connection: { backoff: { baseMs: 10_000, maxMs: 20_000 }, keepAliveSeconds: 60, healthCheckMs: 2000, stableAfterMs: 2000 },
  });
  const configPath = join(tb.dir, 'fleet.json');
  await writeFile(configPath, JSON.stringify(raw));

  const seen: Seen[] = [];
  const script = join(import.meta.dirname, '../../../fixtures/agent/fleet-process.ts');
  for (let p = 0; p < PROCESSES; p += 1) {
    const child = spawn(process.execPath, [script, configPath, String(p * PER_PROCESS), String(PER_PROCESS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        const v = JSON.parse(line) as Partial<Seen>;
        if (v.event !== undefined) seen.push(v as Seen);
      }
    });
    t.after(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    });
  }
  const connectedSince = (since: number): Set<number> =>
    new Set(seen.filter((s) => s.at >= since && s.event.type === 'connected').map((s) => s.n));

  await until('the fleet to connect', () => connectedSince(0).size === FLEET, 120_000);
  // Let every connection become stable, so the crash is a first failure for each client.
  await new Promise((resolve) => setTimeout(resolve, 2500));

  const crashedAt = Date.now();
  await tb.broker.kill9();
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
  await tb.broker.restart();
  await until('every client to reconnect', () => connectedSince(crashedAt).size === FLEET, 120_000);

  const attempts = seen.filter((s) => s.at >= crashedAt && s.event.type === 'connecting');
  const buckets = perSecond(attempts.map((s) => s.at), crashedAt);
  const peak = Math.max(...buckets.values());
  const logged = perSecond(await brokerAttempts(tb.broker.logPath), crashedAt);
  const brokerPeak = Math.max(0, ...logged.values());
  const last = Math.max(...attempts.map((s) => s.at)) - crashedAt;
  t.diagnostic(`attempts ${attempts.length} over ${(last / 1000).toFixed(1)} s; peak ${peak}/s (broker log ${brokerPeak}/s); limit ${FLEET * PEAK_SHARE}/s`);
  t.diagnostic(`per second: ${[...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ')}`);

  assert.equal(new Set(attempts.map((s) => s.n)).size, FLEET, 'every client attempted to reconnect');
  assert.ok(peak <= FLEET * PEAK_SHARE, `peak ${peak} attempts in one second exceeds ${FLEET * PEAK_SHARE}`);
  assert.ok(brokerPeak <= FLEET * PEAK_SHARE, `broker saw ${brokerPeak} connections in one second`);
  assert.ok([...logged.values()].reduce((a, b) => a + b, 0) >= FLEET, 'the broker logged every reconnection');
});
