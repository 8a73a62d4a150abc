import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download, type DownloadSettings } from '../../../../agent/update/download.ts';
import { systemClock } from '../../../../common/clock.ts';
import { CodedError } from '../../../../common/errors.ts';
import { startBundleServer, type ServerControl } from './bundle-server.ts';

const SIZE = 3 * 1024 * 1024 + 17;

async function setup(t: TestContext): Promise<{ dir: string; body: Buffer; sha256: string; server: ServerControl; settings: DownloadSettings; part: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-dl-'));
  const body = randomBytes(SIZE);
  const server = await startBundleServer(dir, body);
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const settings: DownloadSettings = {
    ca: server.ca, allowHttp: false, connectTimeoutMs: 10_000, idleTimeoutMs: 10_000, retries: 3,
    backoff: { baseMs: 10, maxMs: 50 }, clock: systemClock,
  };
  return { dir, body, sha256: createHash('sha256').update(body).digest('hex'), server, settings, part: join(dir, 'dl', 'job.part') };
}

test('downloads and verifies a bundle over HTTPS with the configured CA', async (t) => {
  const { body, sha256, server, settings, part } = await setup(t);
  const result = await download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings);
  assert.deepEqual(await readFile(result.path), body);
  assert.equal(result.bytesFetched, SIZE);
});

test('a cut transfer resumes with Range + If-Range and fetches each byte about once', async (t) => {
  const { body, sha256, server, settings, part } = await setup(t);
  server.cutAfter = 1024 * 1024;
  const result = await download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings);
  assert.deepEqual(await readFile(result.path), body);
  assert.ok(result.bytesFetched < SIZE * 1.2, `fetched ${result.bytesFetched}`);
  const resumed = server.requests.find((r) => r.status === 206);
  assert.ok(resumed, 'a 206 partial response was used');
  assert.match(resumed.range ?? '', /^bytes=\d+-$/);
  assert.equal(resumed.ifRange, '"v1"');
});

test('resumes across restarts from the partial file and its ETag', async (t) => {
  const { body, sha256, server, settings, part } = await setup(t);
  server.cutAfter = 2 * 1024 * 1024;
  const first = download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, { ...settings, retries: 0 });
  await assert.rejects(first, (err: unknown) => err instanceof CodedError && err.code === 'DOWNLOAD_FAILED');
  const kept = (await stat(part)).size;
  assert.ok(kept > 0 && kept < SIZE);
  const second = await download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings);
  assert.equal(second.resumedFrom, kept);
  assert.equal(second.bytesFetched, SIZE - kept);
  assert.deepEqual(await readFile(part), body);
});

test('a changed object (ETag differs) restarts from zero instead of mixing bytes', async (t) => {
  const { body, sha256, server, settings, part } = await setup(t);
  await mkdir(join(part, '..'), { recursive: true });
  await writeFile(part, body.subarray(0, 1000).map((b) => b ^ 0xff));
  await writeFile(`${part}.meta.json`, JSON.stringify({ etag: '"old"', url: 'x' }));
  const result = await download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings);
  assert.equal(server.requests[0]?.status, 200);
  assert.deepEqual(await readFile(result.path), body);
});

test('an expired URL (403) is refreshed and the download goes on', async (t) => {
  const { body, sha256, server, settings, part } = await setup(t);
  server.validTokens = new Set(['fresh']);
  let refreshed = 0;
  const refreshUrl = (): Promise<string> => {
    refreshed += 1;
    return Promise.resolve(server.url('fresh'));
  };
  const result = await download({ url: server.url('stale'), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000), refreshUrl }, settings);
  assert.equal(refreshed, 1);
  assert.deepEqual(await readFile(result.path), body);
});

test('server errors are retried with backoff', async (t) => {
  const { sha256, server, settings, part } = await setup(t);
  server.failNext = 503;
  const result = await download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings);
  assert.equal(result.attempts, 2);
});

test('a wrong sha256 fails with CHECKSUM_MISMATCH and leaves no partial file', async (t) => {
  const { server, settings, part } = await setup(t);
  await assert.rejects(
    download({ url: server.url(), sha256: 'f'.repeat(64), size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings),
    (err: unknown) => err instanceof CodedError && err.code === 'CHECKSUM_MISMATCH',
  );
  assert.equal(existsSync(part), false);
});

test('a bundle larger than the document says fails with SIZE_MISMATCH', async (t) => {
  const { sha256, server, settings, part } = await setup(t);
  await assert.rejects(
    download({ url: server.url(), sha256, size: SIZE - 1, partPath: part, signal: AbortSignal.timeout(60_000) }, settings),
    (err: unknown) => err instanceof CodedError && err.code === 'SIZE_MISMATCH',
  );
});

test('plain http and unreplaced placeholders are refused', async (t) => {
  const { sha256, settings, part } = await setup(t);
  for (const [url, code] of [['http://127.0.0.1:1/b', 'URL_INSECURE'], ['${aws:iot:s3-presigned-url:https://s3/b/k}', 'URL_NOT_PRESIGNED']] as const) {
    await assert.rejects(
      download({ url, sha256, size: SIZE, partPath: part, signal: AbortSignal.timeout(60_000) }, settings),
      (err: unknown) => err instanceof CodedError && err.code === code,
    );
  }
});

test('abort stops the download and keeps the partial file for later', async (t) => {
  const { sha256, server, settings, part } = await setup(t);
  const controller = new AbortController();
  const running = download({ url: server.url(), sha256, size: SIZE, partPath: part, signal: controller.signal, onProgress: (n) => { if (n > 100_000) controller.abort(new Error('canceled')); } }, settings);
  await assert.rejects(running, /canceled/);
  assert.ok(existsSync(part));
});
