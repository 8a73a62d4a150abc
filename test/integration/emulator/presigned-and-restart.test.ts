// Presigned URLs [S16]: the placeholder is replaced at each delivery by a URL of the HTTPS file
// server that expires after expiresInSec (403 afterwards, as S3 answers); the server speaks
// Range, ETag and If-Range (RFC 9110 §14, as S3 does). And jobs survive stop/start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startEmulator } from '../../../emulator/emulator.ts';
import type { EmulatorHandle } from '../../../emulator/emulator.ts';
import { ManualClock, waitFor } from './helpers.ts';

interface Got { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function get(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function describeNext(em: EmulatorHandle, thing: string, ca: Buffer): Promise<string> {
  const creds = await em.createThing(thing);
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${em.port}`, { ca, cert: await readFile(creds.certPath), key: await readFile(creds.keyPath), clientId: `${thing}-${Date.now()}`, protocolVersion: 5, reconnectPeriod: 0 });
  try {
    let doc: { url?: string } | undefined;
    client.on('message', (_topic, payload) => { doc = (JSON.parse(payload.toString()) as { execution?: { jobDocument?: { url?: string } } }).execution?.jobDocument; });
    await client.subscribeAsync(`$aws/things/${thing}/jobs/$next/get/accepted`, { qos: 1 });
    await client.publishAsync(`$aws/things/${thing}/jobs/$next/get`, '{}', { qos: 1 });
    return await waitFor('the $next document', () => doc?.url);
  } finally {
    await client.endAsync(true);
  }
}

test('presigned URLs: fresh per delivery, Range/ETag/If-Range, 403 after expiry; jobs survive a restart', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-emulator-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clock = new ManualClock();
  let em = await startEmulator({ dir, clock });
  t.after(() => em.stop());
  const ca = await readFile(em.caPath);
  const bytes = randomBytes(100_000);
  await writeFile(join(dir, 'bundle.tar'), bytes);
  await em.upload(join(dir, 'bundle.tar'), 's3://my-bucket/app/bundle.tar');
  em.createJob({
    jobId: 'install-1', targets: ['dev-1'], presignedUrlConfig: { roleArn: 'arn:aws:iam::123456789012:role/x', expiresInSec: 60 },
    document: JSON.stringify({ url: '${aws:iot:s3-presigned-url:https://my-bucket.s3.us-east-1.amazonaws.com/app/bundle.tar}' }),
  });

  const url = await describeNext(em, 'dev-1', ca);
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/my-bucket\/app\/bundle\.tar\?/);
  const full = await get(url, ca);
  assert.equal(full.status, 200);
  assert.ok(full.body.equals(bytes));
  const etag = String(full.headers['etag']);
  const part = await get(url, ca, { Range: 'bytes=10-19', 'If-Range': etag });
  assert.deepEqual([part.status, part.headers['content-range']], [206, 'bytes 10-19/100000']);
  assert.ok(part.body.equals(bytes.subarray(10, 20)));
  const changed = await get(url, ca, { Range: 'bytes=10-19', 'If-Range': '"stale"' });
  assert.equal(changed.status, 200);
  assert.equal((await get(url, ca, { Range: 'bytes=200000-' })).status, 416);

  clock.advance(1000);
  assert.notEqual(await describeNext(em, 'dev-1', ca), url);
  clock.advance(59_000);
  const expired = await get(url, ca);
  assert.equal(expired.status, 403);
  assert.match(expired.body.toString(), /AccessDenied/);
  assert.equal((await get(url.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'), ca)).status, 403);

  const port = em.port;
  await em.stop();
  em = await startEmulator({ dir, clock });
  assert.equal(em.port, port);
  assert.equal(em.describeJob('install-1').job['status'], 'IN_PROGRESS');
  assert.equal(em.describeJobExecution({ jobId: 'install-1', thingName: 'dev-1' }).execution['status'], 'QUEUED');
});
