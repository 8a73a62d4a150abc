// Time in the cloud, driven by a manual clock in the emulator: a presigned URL that expired while
// the job was under way is refreshed by describing the execution again, and a step timeout
// (TIMED_OUT) stops the local work and cleans up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../emulator/helpers.ts';
import { waitForVersion } from '../../supervisor/harness.ts';
import { installDoc, startRig, waitFor } from './rig.ts';
import { startThrottleProxy } from './throttle-proxy.ts';

test('a presigned URL that expired mid-job is refreshed by describing the execution', { timeout: 240_000 }, async (t) => {
  const clock = new ManualClock(Date.now());
  const rig = await startRig(t, { clock });
  const bundle = await rig.bundle('1.1.0', { padBytes: 1024 * 1024 });
  // The agent dies as the download begins: the journal keeps the URL delivered with the job.
  const first = await rig.startAgent('downloading');
  rig.createJob('expiring', installDoc(bundle), { presignedUrlConfig: { expiresInSec: 60 } });
  await first.exited;
  clock.advance(120_000);
  const agent = await rig.startAgent();
  const final = await rig.finalOf('expiring');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.ok(agent.logs.some((l) => l['event'] === 'download-url-refreshed' && l['jobId'] === 'expiring'), 'the URL was refreshed');
  await waitForVersion(rig.appPort, '1.1.0');
});

test('a step timeout (TIMED_OUT) during the download stops it and cleans up', { timeout: 240_000 }, async (t) => {
  const clock = new ManualClock(Date.now());
  const rig = await startRig(t, { clock, agent: { jobs: { stepTimeouts: { downloadMinutes: 1 }, progressIntervalMs: 3_600_000 } } });
  const bundle = await rig.bundle('1.1.0', { padBytes: 8 * 1024 * 1024 });
  const proxy = await startThrottleProxy({ host: '127.0.0.1', port: rig.filesPort() }, 2 * 1024 * 1024);
  t.after(() => proxy.close());
  const agent = await rig.startAgent();
  rig.createJob('slow', installDoc({ ...bundle, url: rig.presignedVia(bundle, proxy.port) }));
  const part = join(rig.device.paths.agentDir, 'downloads', 'slow.1.bundle');
  await waitFor('download under way', () => {
    try {
      return statSync(part).size > 512 * 1024 ? true : undefined;
    } catch {
      return undefined;
    }
  });
  proxy.hold(true);
  clock.advance(3 * 60_000);
  rig.emulator.tick();
  await waitFor('TIMED_OUT', () => (rig.execution('slow')?.['status'] === 'TIMED_OUT' ? true : undefined));
  await agent.waitLog('job-canceled', (l) => l['jobId'] === 'slow' && /TIMED_OUT/.test(String(l['why'])));
  await agent.waitLog('job-phase', (l) => l['jobId'] === 'slow' && l['to'] === 'closed');
  // The closed phase's own step removes the download, right after the phase is logged.
  const downloads = join(rig.device.paths.agentDir, 'downloads');
  await waitFor('download removed', () => (readdirSync(downloads).length === 0 ? true : undefined));
  assert.equal(agent.logs.some((l) => l['event'] === 'job-phase' && l['jobId'] === 'slow' && l['to'] === 'installing'), false);
  proxy.hold(false);
  await waitForVersion(rig.appPort, '1.0.0');
  assert.deepEqual(readdirSync(downloads), [], 'the stopped download wrote nothing after its removal');
});
