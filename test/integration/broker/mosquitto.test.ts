// The broker harness itself: mTLS with per-thing ACLs, CRL refusals, restart on the same port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { revokeClientCert } from '../../../emulator/broker/pki.ts';

const run = promisify(execFile);

async function pub(tb: TestBroker, thing: string, topic: string, message: string): Promise<void> {
  const creds = await tb.thing(thing);
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tb.broker.port), '--cafile', tb.pki.caCert,
    '--cert', creds.cert, '--key', creds.key, '-i', `${thing}-pub`, '-q', '1', '-t', topic, '-m', message, '-r']);
}

async function readRetained(tb: TestBroker, thing: string, topic: string, waitSeconds = 10): Promise<string> {
  const creds = await tb.thing(thing);
  const { stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(tb.broker.port), '--cafile', tb.pki.caCert,
    '--cert', creds.cert, '--key', creds.key, '-i', `${thing}-sub`, '-t', topic, '-C', '1', '-W', String(waitSeconds)]);
  return stdout.trim();
}

test('a thing reaches its own topics with its client certificate', async (t) => {
  const tb = await startTestBroker(t);
  await pub(tb, 'thing-1', 'twinslot/thing-1/status', 'online');
  assert.equal(await readRetained(tb, 'thing-1', 'twinslot/thing-1/status'), 'online');
});

test("a thing cannot read another thing's topics", async (t) => {
  const tb = await startTestBroker(t, { privileged: ['admin'] });
  await pub(tb, 'thing-1', 'twinslot/thing-1/status', 'secret');
  await assert.rejects(readRetained(tb, 'thing-2', 'twinslot/thing-1/status', 2), 'thing-2 must time out: nothing is delivered');
  assert.equal(await readRetained(tb, 'admin', 'twinslot/thing-1/status'), 'secret');
});

test('a revoked certificate is refused after a reload, and retained state survives kill -9', async (t) => {
  const tb = await startTestBroker(t, { useCrl: true });
  await pub(tb, 'thing-1', 'twinslot/thing-1/status', 'v1');
  await pub(tb, 'thing-3', 'twinslot/thing-3/status', 'kept');
  const creds = await tb.thing('thing-1');
  await revokeClientCert(tb.pki, creds.cert);
  await tb.broker.kill9();
  await tb.broker.restart();
  await assert.rejects(pub(tb, 'thing-1', 'twinslot/thing-1/status', 'v2'));
  assert.equal(await readRetained(tb, 'thing-3', 'twinslot/thing-3/status'), 'kept');
});
