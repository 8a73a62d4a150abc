// Faults on a live link: broker crash and restart, a blackholed network, a second process with
// the same client id, refused then repaired certificates, and endpoint failover.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../../../agent/connection/connection.ts';
import { startLink } from '../../../../agent/link.ts';
import { issueClientCert, revokeClientCert } from '../../../../emulator/broker/pki.ts';
import { silentLogger } from '../../../../common/log.ts';
import { startTestBroker } from '../../../helpers/broker.ts';
import { startFaultProxy } from '../../../helpers/fault-proxy.ts';
import { testConfig, type TestConfigOptions } from '../../../fixtures/agent/config.ts';
import { EventLog, observe, until } from '../../../fixtures/agent/support.ts';

function connection(t: { after(fn: () => Promise<void>): void }, o: TestConfigOptions): { conn: Connection; log: EventLog } {
  const conn = new Connection({ config: testConfig(o).connection, log: silentLogger() });
  const log = new EventLog();
  conn.onEvent(log.add);
  t.after(() => conn.stop());
  conn.start();
  return { conn, log };
}

test('broker kill -9 and restart after 5 s: session rejoined, messages queued while offline delivered', async (t) => {
  const tb = await startTestBroker(t, { privileged: ['observer'] });
  const creds = await tb.thing('dev-r');
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-restart-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await observe(t, tb, 'twinslot/dev-r/telemetry', 'observer-r');
  const config = testConfig({ thingName: 'dev-r', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] });
  const link = await startLink({ config, agentDir: join(dir, 'agent'), log: silentLogger() });
  t.after(() => link.stop());
  const log = new EventLog();
  link.connection.onEvent(log.add);
  await until('connected', () => link.connection.isConnected());
  await tb.broker.kill9();
  await log.next('interrupted');
  for (let n = 0; n < 20; n += 1) link.outbox.publish('twinslot/dev-r/telemetry', JSON.stringify({ n }));
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const since = Date.now();
  await tb.broker.restart();
  const back = await log.next('connected', since);
  assert.equal(back.e.rejoinedSession, true);
  const obs = await observe(t, tb, 'twinslot/dev-r/telemetry', 'observer-r');
  const got = await until('all 20 delivered', () => {
    const ns = obs.messages('twinslot/dev-r/telemetry').map((p) => (JSON.parse(p) as { n: number }).n);
    return new Set(ns).size === 20 ? ns : undefined;
  });
  assert.deepEqual([...new Set(got)], Array.from({ length: 20 }, (_, i) => i));
  await until('outbox emptied', () => link.outbox.stats().depth === 0);
});

test('blackholed network: loss detected by keep-alive, recovered when healed', async (t) => {
  const tb = await startTestBroker(t);
  const creds = await tb.thing('dev-b');
  const proxy = await startFaultProxy(tb.broker);
  t.after(() => proxy.close());
  const { conn, log } = connection(t, {
    thingName: 'dev-b', creds, caPath: tb.pki.caCert, ports: [proxy.port],
    connection: { keepAliveSeconds: 2, pingTimeoutMs: 1000, connackTimeoutMs: 2000 },
  });
  await log.next('connected');
  const cutAt = Date.now();
  proxy.set({ kind: 'blackhole' });
  const lost = await log.next('interrupted', cutAt);
  // Detected by the keep-alive ping (2 s + 1 s ping timeout), long before TCP would notice;
  // the bound is loose because it measures timers, not speed.
  assert.ok(lost.at - cutAt < 15_000, `loss noticed after ${lost.at - cutAt} ms`);
  await until('a failed attempt on the blackhole', () => log.count('connect-failed', cutAt) >= 1);
  proxy.set({ kind: 'pass' });
  const healed = Date.now();
  await log.next('connected', healed);
  assert.equal(conn.isConnected(), true);
});

test('session taken over by a second process with the same client id: no tight loop, recovers', async (t) => {
  const tb = await startTestBroker(t);
  const creds = await tb.thing('dev-t');
  const o = { thingName: 'dev-t', creds, caPath: tb.pki.caCert, ports: [tb.broker.port], connection: { stableAfterMs: 60_000 } };
  const a = connection(t, o);
  await a.log.next('connected');
  const start = Date.now();
  const b = new Connection({ config: testConfig(o).connection, log: silentLogger() });
  const bLog = new EventLog();
  b.onEvent(bLog.add);
  b.start();
  await a.log.next('interrupted', start);
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const connects = a.log.count('connected', start) + bLog.count('connected', start);
  // Without the takeover backoff two processes reconnect forever, ~several times a second.
  assert.ok(connects <= 12, `${connects} connections in 10 s`);
  const taken = [...a.log.events, ...bLog.events].filter((x) => x.e.type === 'retry-scheduled' && x.e.policy === 'takeover');
  assert.ok(taken.length >= 1);
  const stopAt = Date.now();
  await b.stop();
  if (!a.conn.isConnected()) await a.log.next('connected', stopAt);
  assert.equal(a.conn.isConnected(), true);
});

test('certificate refused (revoked, CRL reloaded): keeps retrying slowly, re-reads a replaced certificate, connects', async (t) => {
  const tb = await startTestBroker(t, { useCrl: true });
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-cert-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await issueClientCert(tb.pki, 'dev-c', join(dir, 'first'));
  const creds = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  await copyFile(first.cert, creds.cert);
  await copyFile(first.key, creds.key);
  const { conn, log } = connection(t, { thingName: 'dev-c', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] });
  await log.next('connected');
  await revokeClientCert(tb.pki, first.cert);
  tb.broker.reload();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const since = Date.now();
  await tb.broker.kill9();
  await tb.broker.restart();
  await log.next('auth-failed', since);
  // Refused for a while (the issue's 60 s shortened to 8 s to keep CI fast): it keeps trying.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  const refused = log.events.filter((x) => x.at >= since && x.e.type === 'auth-failed');
  assert.ok(refused.length >= 2, `${refused.length} refused attempts`);
  assert.equal(refused.filter((x) => x.e.type === 'auth-failed' && !x.e.repeat).length, 1, 'cause logged once per change');
  assert.ok(log.events.some((x) => x.at >= since && x.e.type === 'retry-scheduled' && x.e.policy === 'auth'));
  const fixed = await issueClientCert(tb.pki, 'dev-c', join(dir, 'second'));
  await copyFile(fixed.key, creds.key);
  await copyFile(fixed.cert, creds.cert);
  const fixedAt = Date.now();
  await log.next('connected', fixedAt);
  assert.equal(conn.isConnected(), true);
});

test('primary endpoint down: fails over after K failures, returns to the primary later', async (t) => {
  const tb = await startTestBroker(t);
  const creds = await tb.thing('dev-f');
  const primary = await startFaultProxy(tb.broker, { kind: 'reset' });
  const secondary = await startFaultProxy(tb.broker);
  t.after(() => primary.close());
  t.after(() => secondary.close());
  const { log } = connection(t, {
    thingName: 'dev-f', creds, caPath: tb.pki.caCert, ports: [primary.port, secondary.port],
    connection: { failoverAfter: 3, returnToPrimaryMs: 3000 },
  });
  const over = await log.next('failover', 0, (e) => e.from === 0 && e.to === 1);
  assert.ok(log.count('connect-failed') + log.count('auth-failed') >= 3);
  const onSecondary = await log.next('connected', over.at);
  assert.equal(onSecondary.e.endpoint, 1);
  primary.set({ kind: 'pass' });
  const back = await log.next('connected', onSecondary.at + 1, (e) => e.endpoint === 0);
  assert.equal(back.e.endpoint, 0);
  assert.ok(log.events.some((x) => x.e.type === 'failover' && x.e.from === 1 && x.e.to === 0));
});
