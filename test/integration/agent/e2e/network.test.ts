// Downloads under a hostile network: a cut mid-transfer resumes (each byte fetched about once),
// the broker and file server restarting mid-transfer, and a cancel mid-transfer stops and cleans.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, waitFor, type Rig } from './rig.ts';
import { startThrottleProxy, type ThrottleProxy } from './throttle-proxy.ts';

const SIZE = 8 * 1024 * 1024;

// Bytes of the partial download of `jobId`, 0 when there is none.
function partialBytes(rig: Rig, jobId: string): number {
  const dir = join(rig.device.paths.agentDir, 'downloads');
  try {
    return statSync(join(dir, `${jobId}.1.bundle`)).size;
  } catch {
    return 0;
  }
}

async function throttled(t: { after(fn: () => Promise<void>): void }, rig: Rig): Promise<ThrottleProxy> {
  const proxy = await startThrottleProxy({ host: '127.0.0.1', port: rig.filesPort() }, 4 * 1024 * 1024);
  t.after(() => proxy.close());
  return proxy;
}

test('a network cut mid-download resumes with Range; bytes fetched stay under 1.2× the bundle', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.1.0', { padBytes: SIZE });
  const proxy = await throttled(t, rig);
  const agent = await rig.startAgent();
  rig.createJob('cut-1', installDoc({ ...bundle, url: rig.presignedVia(bundle, proxy.port) }));
  await waitFor('a third of the bundle', () => (partialBytes(rig, 'cut-1') > bundle.size / 3 ? true : undefined));
  proxy.cut();
  const final = await rig.finalOf('cut-1');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.ok(proxy.forwarded() < bundle.size * 1.2, `forwarded ${proxy.forwarded()} for ${bundle.size}`);
  const done = agent.logs.find((l) => l['event'] === 'download-done');
  assert.ok(done && Number(done['attempts']) >= 2, 'the download took a second attempt');
  await waitForVersion(rig.appPort, '1.1.0');
});

test('the broker and file server restarting mid-download: the job still completes', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.1.0', { padBytes: SIZE });
  const proxy = await throttled(t, rig);
  const agent = await rig.startAgent();
  rig.createJob('restart-1', installDoc({ ...bundle, url: rig.presignedVia(bundle, proxy.port) }));
  await waitFor('a quarter of the bundle', () => (partialBytes(rig, 'restart-1') > bundle.size / 4 ? true : undefined));
  await rig.restartEmulator();
  const final = await rig.finalOf('restart-1');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.ok(agent.logs.filter((l) => l['event'] === 'connect').length >= 2, 'the agent reconnected');
  await waitForVersion(rig.appPort, '1.1.0');
});

test('a job canceled mid-download stops the download and cleans up', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.1.0', { padBytes: SIZE });
  const proxy = await throttled(t, rig);
  const agent = await rig.startAgent();
  rig.createJob('cancel-1', installDoc({ ...bundle, url: rig.presignedVia(bundle, proxy.port) }));
  await waitFor('some bytes', () => (partialBytes(rig, 'cancel-1') > 1024 * 1024 ? true : undefined));
  rig.emulator.cancelJob({ jobId: 'cancel-1', force: true });
  await agent.waitLog('job-canceled', (l) => l['jobId'] === 'cancel-1');
  await agent.waitLog('job-phase', (l) => l['jobId'] === 'cancel-1' && l['to'] === 'closed');
  assert.equal(rig.execution('cancel-1')?.['status'], 'CANCELED');
  await waitFor('downloads cleaned', () => (readdirSync(join(rig.device.paths.agentDir, 'downloads')).length === 0 ? true : undefined));
  assert.equal(agent.logs.some((l) => l['event'] === 'job-phase' && l['jobId'] === 'cancel-1' && l['to'] === 'activating'), false);
  // The agent goes on with the next job.
  const next = await rig.bundle('1.2.0');
  rig.createJob('after-cancel', installDoc(next));
  assert.equal((await rig.finalOf('after-cancel'))['status'], 'SUCCEEDED');
  assert.equal(detailsOf((await rig.finalOf('after-cancel')))['version'], '1.2.0');
});
