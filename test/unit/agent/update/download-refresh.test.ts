// An expired presigned URL is refreshed by describing the execution. A download resumed at start
// can get there before the agent is connected: "not connected" (JobsUnavailable) is asked again
// with the update backoff instead of failing the job.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../../common/clock.ts';
import { silentLogger } from '../../../../common/log.ts';
import { parseJobsSections } from '../../../../agent/jobs/config.ts';
import { JobsRejected, JobsUnavailable, type JobsApi, type RemoteExecution } from '../../../../agent/jobs/jobs-api.ts';
import type { JournalEntry } from '../../../../agent/jobs/journal.ts';
import type { StepContext } from '../../../../agent/update/context.ts';
import { downloadPath } from '../../../../agent/update/context.ts';
import { downloadStep } from '../../../../agent/update/install-steps.ts';
import { devicePaths } from '../../../../slots/paths.ts';

const BUNDLE = Buffer.alloc(64 * 1024, 7);
const SHA256 = createHash('sha256').update(BUNDLE).digest('hex');

// /old answers 403 (an expired presigned URL), /new the bundle.
async function startFiles(): Promise<{ server: Server; url: (path: string) => string }> {
  const server = createServer((req, res) => {
    if (req.url === '/new') {
      res.writeHead(200, { 'content-length': BUNDLE.length });
      res.end(BUNDLE);
    } else {
      res.writeHead(403);
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}` };
}

function doc(url: string): Record<string, unknown> {
  return { twinslot: 1, operation: 'install', version: '1.1.0', bundle: { url, sha256: SHA256, size: BUNDLE.length } };
}

// describe fails with `failures` first (one per call), then answers with the document at `url`.
function jobsFake(failures: Error[], url: string): { api: JobsApi; calls: () => number } {
  let calls = 0;
  const describe = (jobId: string, executionNumber?: number): Promise<RemoteExecution | null> => {
    calls += 1;
    const failure = failures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve({ jobId, executionNumber: executionNumber ?? 1, status: 'IN_PROGRESS', versionNumber: 2, document: doc(url), statusDetails: {} });
  };
  // Only describe is on the refresh path.
  return { api: { describe } as unknown as JobsApi, calls: () => calls };
}

async function run(t: { after(fn: () => Promise<void>): void }, failures: Error[]): Promise<{ result: Promise<unknown>; calls: () => number; root: string; entry: JournalEntry }> {
  const files = await startFiles();
  const root = await mkdtemp(join(tmpdir(), 'twinslot-refresh-'));
  t.after(async () => {
    files.server.close();
    await rm(root, { recursive: true, force: true });
  });
  const jobs = jobsFake(failures, files.url('/new'));
  const sections = parseJobsSections({ device: { thingName: 't', deviceType: 'test-device' }, agent: { update: { allowHttp: true } } });
  const ctx = {
    paths: devicePaths(root), jobs: jobs.api, clock: systemClock, log: silentLogger(), ca: undefined, progress: () => undefined,
    jobsConfig: { ...sections.jobs, updateBackoff: { baseMs: 1, maxMs: 5 } },
    update: { ...sections.update, backoff: { baseMs: 1, maxMs: 5 } },
  } as unknown as StepContext;
  const now = Date.now();
  const entry: JournalEntry = {
    schema: 1, jobId: 'expiring', executionNumber: 1, document: doc(files.url('/old')) as unknown as JournalEntry['document'],
    phase: { kind: 'downloading' }, resumes: 0, receivedAt: now, updatedAt: now, phaseSince: now,
  };
  return { result: downloadStep(entry, ctx, new AbortController().signal), calls: jobs.calls, root, entry };
}

test('a refresh while not connected asks again and the download completes', async (t) => {
  const unavailable = (): Error => new JobsUnavailable('not connected');
  const r = await run(t, [unavailable(), unavailable(), unavailable()]);
  assert.deepEqual(await r.result, { type: 'downloaded' });
  assert.equal(r.calls(), 4);
  assert.deepEqual(await readFile(downloadPath(devicePaths(r.root), r.entry)), BUNDLE);
});

test('a refresh refused by AWS is not retried: the download fails with that error', async (t) => {
  const r = await run(t, [new JobsRejected('AccessDeniedException', 'not allowed')]);
  await assert.rejects(r.result, (err: unknown) => err instanceof JobsRejected);
  assert.equal(r.calls(), 1);
});
