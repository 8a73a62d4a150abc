// Issue 7's end to end: a device configured for fleet provisioning by claim runs `twinslot agent`
// against the emulator; the agent obtains its permanent certificate (CreateKeysAndCertificate +
// RegisterThing), connects with it, and takes a job to the end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForVersion } from '../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, THING } from '../agent/e2e/rig.ts';

test('provisioned by claim, the agent connects with its new certificate and takes a job', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t);
  const claim = await rig.emulator.createClaim();
  mkdirSync(rig.device.paths.certsDir, { recursive: true, mode: 0o700 }); // install.sh makes it
  const certPath = join(rig.device.paths.certsDir, 'device.crt');
  const keyPath = join(rig.device.paths.certsDir, 'device.key');
  const config = JSON.parse(readFileSync(rig.device.configPath, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
  const connection = config['agent']?.['connection'];
  assert.ok(connection, 'the rig writes agent.connection');
  const thingCert = connection['certPath'];
  Object.assign(connection, { certPath, keyPath });
  config['provisioning'] = { ...(claim.config['provisioning'] as Record<string, unknown>), parameters: { ThingName: THING } };
  writeFileSync(rig.device.configPath, JSON.stringify(config, null, 2));

  const bundle = await rig.bundle('1.1.0');
  const agent = await rig.startAgent();
  const provisioned = await agent.waitLog('provisioned');
  assert.equal(provisioned['thingName'], THING);
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  const pem = readFileSync(certPath, 'utf8');
  assert.match(pem, /BEGIN CERTIFICATE/);
  assert.notEqual(pem, readFileSync(String(thingCert), 'utf8'), 'a new certificate, not the emulator thing one');

  rig.createJob('claimed-1', installDoc(bundle));
  const final = await rig.finalOf('claimed-1');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.equal(detailsOf(final)['version'], '1.1.0');
  await waitForVersion(rig.appPort, '1.1.0');

  // Restarted with the claim credentials gone, the agent uses the stored certificate. The agent
  // must exit by itself after SIGTERM (closed CRT clients keep the loop alive: agent/README.md).
  await agent.kill('SIGTERM');
  assert.deepEqual(await agent.exited, { code: 0, signal: null });
  const provisioning = config['provisioning'] as unknown as { claimCertPath: string; claimKeyPath: string };
  rmSync(provisioning.claimCertPath);
  rmSync(provisioning.claimKeyPath);
  const bundle2 = await rig.bundle('1.2.0');
  const again = await rig.startAgent();
  rig.createJob('claimed-2', installDoc(bundle2));
  const second = await rig.finalOf('claimed-2');
  assert.equal(second['status'], 'SUCCEEDED', JSON.stringify(second));
  assert.equal(again.logs.some((l) => l['event'] === 'provisioned'), false, 'not provisioned twice');
  await waitForVersion(rig.appPort, '1.2.0');
});
