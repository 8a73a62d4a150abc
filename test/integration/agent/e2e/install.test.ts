// The main path against the emulator and a real supervisor: a good update commits and the new
// version answers; a bad one rolls back and the job says why.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig } from './rig.ts';

test('a good update ends SUCCEEDED and the new version answers', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.1.0');
  await rig.startAgent();
  rig.createJob('good-1', installDoc(bundle));
  const final = await rig.finalOf('good-1');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  const details = detailsOf(final);
  assert.equal(details['reason'], 'COMMITTED');
  assert.equal(details['version'], '1.1.0');
  await waitForVersion(rig.appPort, '1.1.0');
});

test('a bad update rolls back and ends FAILED with HEALTH_CHECK_FAILED', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.2.0', { fixture: 'crash-at-start.mjs' });
  await rig.startAgent();
  rig.createJob('bad-1', installDoc(bundle));
  const final = await rig.finalOf('bad-1');
  assert.equal(final['status'], 'FAILED', JSON.stringify(final));
  const details = detailsOf(final);
  assert.equal(details['reason'], 'HEALTH_CHECK_FAILED');
  assert.ok((details['message'] ?? '').length > 0);
  await waitForVersion(rig.appPort, '1.0.0');
});

test('health overrides in the document apply to the trial', { timeout: 240_000 }, async (t) => {
  // The document adds an HTTP probe on a loopback port the device allows and nothing serves.
  const deadPort = await freePort();
  const rig = await startRig(t, { supervisor: { jobHttpProbePorts: [deadPort] } });
  const bundle = await rig.bundle('1.3.0');
  await rig.startAgent();
  const health = { startTimeoutSeconds: 3, http: { url: `http://127.0.0.1:${deadPort}/health`, intervalMs: 100, timeoutMs: 1000, failureThreshold: 2 } };
  rig.createJob('override-1', installDoc(bundle, { health }));
  const final = await rig.finalOf('override-1');
  assert.equal(final['status'], 'FAILED', JSON.stringify(final));
  assert.equal(detailsOf(final)['reason'], 'HEALTH_CHECK_FAILED');
  await waitForVersion(rig.appPort, '1.0.0');
});

test('a document may not choose a command probe or an HTTP probe elsewhere than the allowed ports', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const bundle = await rig.bundle('1.3.0');
  await rig.startAgent();
  // A command probe ran as root on every device the job targeted.
  rig.createJob('command-probe', installDoc(bundle, { health: { command: { argv: ['sh', '-c', 'exit 0'] } } }));
  const rejected = await rig.finalOf('command-probe');
  assert.equal(rejected['status'], 'REJECTED', JSON.stringify(rejected));
  assert.equal(detailsOf(rejected)['reason'], 'DOCUMENT_INVALID');
  // No port is allowed on this device: the trial is refused before the app is touched.
  rig.createJob('http-elsewhere', installDoc(bundle, { health: { http: { url: `http://127.0.0.1:${rig.appPort}/health` } } }));
  const refused = await rig.finalOf('http-elsewhere');
  assert.equal(refused['status'], 'FAILED', JSON.stringify(refused));
  assert.equal(detailsOf(refused)['reason'], 'HEALTH_NOT_ALLOWED');
  await waitForVersion(rig.appPort, '1.0.0');
});
