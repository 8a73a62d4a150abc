// Scenario 2: a bad update (its app exits during the trial) → the supervisor rolls back to the
// committed version, and the job ends FAILED with the reason. The release is installed with
// install.sh; agent and supervisor run in the VM, the emulator on the host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestVm } from './rig/harness.ts';
import { installDoc, startFleet } from './rig/fleet.ts';
import { releasePayload } from './rig/release.ts';
import { deviceVmOptions, installDevice, runningAppVersion, waitSettled } from './guest/device-service.ts';

test('bad update: the trial fails, the device rolls back, the job is FAILED with the reason', async (t) => {
  const fleet = await startFleet(t);
  const initial = await fleet.bundle('1.0.0');
  const vm = await startTestVm(t, await deviceVmOptions(fleet, await releasePayload(), initial.file));
  await installDevice(vm, fleet);
  const before = await waitSettled(vm);
  assert.equal(before.status.app?.version, '1.0.0');
  assert.equal(before.status.committed, 'a');

  const bad = await fleet.bundle('2.0.0', 'bad');
  fleet.createJob('bad-2-0-0', installDoc(bad));
  const final = await fleet.final('bad-2-0-0');
  t.diagnostic(`final: ${JSON.stringify(final)}`);
  assert.equal(final.status, 'FAILED');
  assert.equal(final.details['reason'], 'HEALTH_CHECK_FAILED');
  assert.equal(final.details['version'], '2.0.0');
  assert.ok((final.details['message'] ?? '').length > 0, 'the failure says why');
  assert.ok((final.details['healthCode'] ?? '').length > 0, 'the supervisor code is reported');

  // Back on 1.0.0 in slot a, running; slot b is marked failed with the same reason.
  const after = await waitSettled(vm);
  assert.equal(after.status.committed, 'a');
  assert.equal(after.status.current, 'a');
  assert.equal(after.status.app?.version, '1.0.0');
  assert.equal(after.status.slots.b.status, 'failed');
  assert.equal(after.status.lastOutcome?.kind, 'rolled-back');
  assert.equal(after.status.lastOutcome.jobId, 'bad-2-0-0');
  assert.equal(after.status.lastOutcome.code, final.details['healthCode']);
  assert.equal(after.state.committed, 'a');
  assert.equal(after.state.trial, null);
  assert.equal(await runningAppVersion(vm), '1.0.0');
});
