// mTLS connect, retained online status, last will after kill -9, clean stop, credentials that
// appear after start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../../../agent/connection/connection.ts';
import { decodeStatus, statusTopic } from '../../../../agent/connection/topics.ts';
import { silentLogger } from '../../../../common/log.ts';
import { startTestBroker } from '../../../helpers/broker.ts';
import { rawTestConfig, testConfig } from '../../../fixtures/agent/config.ts';
import { EventLog, observe, runLinkProcess, until } from '../../../fixtures/agent/support.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-conn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('connects with mutual TLS and publishes a retained online status with its version', async (t) => {
  const tb = await startTestBroker(t, { privileged: ['observer'] });
  const creds = await tb.thing('dev-1');
  const obs = await observe(t, tb, statusTopic('dev-1'));
  const conn = new Connection({ config: testConfig({ thingName: 'dev-1', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] }).connection, log: silentLogger() });
  const log = new EventLog();
  conn.onEvent(log.add);
  conn.start();
  const connected = await log.next('connected');
  assert.equal(connected.e.rejoinedSession, false);
  const online = await until('online status', () => obs.messages(statusTopic('dev-1')).map(decodeStatus).find((s) => s?.state === 'online'));
  assert.equal(online.state === 'online' && online.version, '9.9.9-test');
  await conn.stop();
  const offline = await until('offline status', () => obs.messages(statusTopic('dev-1')).map(decodeStatus).find((s) => s?.state === 'offline'));
  assert.equal(offline.state === 'offline' && offline.cause, 'shutdown');
  assert.equal(conn.state.kind, 'stopped');
});

test('the last will (retained offline) reaches another subscriber after kill -9 of the agent process', async (t) => {
  const tb = await startTestBroker(t, { privileged: ['observer'] });
  const creds = await tb.thing('dev-2');
  const dir = await tempDir(t);
  const raw = rawTestConfig({ thingName: 'dev-2', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] });
  const proc = await runLinkProcess(dir, raw, join(dir, 'agent'));
  t.after(() => proc.kill9());
  await until('agent connected', () => proc.lines.find((l) => (l['event'] as { type?: string } | undefined)?.type === 'connected'));
  const obs = await observe(t, tb, statusTopic('dev-2'));
  await until('online retained', () => obs.messages(statusTopic('dev-2')).map(decodeStatus).find((s) => s?.state === 'online'));
  await proc.kill9();
  const will = await until('last will', () => obs.messages(statusTopic('dev-2')).map(decodeStatus).find((s) => s?.state === 'offline'));
  assert.equal(will.state === 'offline' && will.cause, 'will');
  // Retained: a subscriber arriving later sees it too.
  const late = await observe(t, tb, statusTopic('dev-2'));
  const seen = await until('retained will', () => late.messages(statusTopic('dev-2')).map(decodeStatus).find((s) => s !== undefined));
  assert.equal(seen.state, 'offline');
});

test('SIGTERM stops the agent process cleanly: retained offline (shutdown) and exit 0', async (t) => {
  const tb = await startTestBroker(t, { privileged: ['observer'] });
  const creds = await tb.thing('dev-3');
  const dir = await tempDir(t);
  const proc = await runLinkProcess(dir, rawTestConfig({ thingName: 'dev-3', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] }), join(dir, 'agent'));
  t.after(() => proc.kill9());
  await until('agent connected', () => proc.lines.find((l) => (l['event'] as { type?: string } | undefined)?.type === 'connected'));
  const obs = await observe(t, tb, statusTopic('dev-3'));
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
  const last = await until('offline', () => obs.messages(statusTopic('dev-3')).map(decodeStatus).find((s) => s?.state === 'offline'));
  assert.equal(last.state === 'offline' && last.cause, 'shutdown');
});

test('credentials absent at start: waits, then connects when the files appear', async (t) => {
  const tb = await startTestBroker(t);
  const issued = await tb.thing('dev-4');
  const dir = await tempDir(t);
  const creds = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  const conn = new Connection({ config: testConfig({ thingName: 'dev-4', creds, caPath: tb.pki.caCert, ports: [tb.broker.port] }).connection, log: silentLogger() });
  const log = new EventLog();
  conn.onEvent(log.add);
  t.after(() => conn.stop());
  conn.start();
  const waiting = await log.next('waiting-credentials');
  assert.equal(waiting.e.path, creds.cert);
  await until('a few health checks', () => log.count('connecting') >= 3);
  assert.equal(log.count('waiting-credentials', 0) >= 1 && log.events.filter((x) => x.e.type === 'waiting-credentials' && !x.e.repeat).length, 1);
  await copyFile(issued.key, creds.key);
  await copyFile(issued.cert, creds.cert);
  const connected = await log.next('connected');
  assert.equal(connected.e.type, 'connected');
});
