// Scenario 1: a good update whose activation includes a real VM reboot → committed, and the job
// SUCCEEDED after the reboot. The agent never activates with `reboot: true` (install documents
// have no such field), so the reboot is the `reboot` job operation right after the install job:
// the install commits, the reboot job reboots the VM, and after the boot the device runs the
// new version, committed, and the job is SUCCEEDED with a new boot id. As the units install it,
// the agent runs as the unprivileged `twinslot` user and asks the supervisor (root) to reboot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestVm } from './rig/harness.ts';
import { installDoc, startFleet } from './rig/fleet.ts';
import { releasePayload } from './rig/release.ts';
import { AGENT_LOG, deviceVmOptions, installDevice, runningAppVersion, waitSettled } from './guest/device-service.ts';
import { SUPERVISOR_LOG } from './guest/supervisor-service.ts';

test('good update then reboot job: committed, SUCCEEDED after a real reboot, new version runs', async (t) => {
  const fleet = await startFleet(t);
  const initial = await fleet.bundle('1.0.0');
  const vm = await startTestVm(t, await deviceVmOptions(fleet, await releasePayload(), initial.file));
  await installDevice(vm, fleet);
  assert.equal((await waitSettled(vm)).status.app?.version, '1.0.0');

  const good = await fleet.bundle('1.1.0');
  fleet.createJob('good-1-1-0', installDoc(good));
  const installed = await fleet.final('good-1-1-0');
  t.diagnostic(`install job: ${JSON.stringify(installed)}`);
  assert.equal(installed.status, 'SUCCEEDED');
  assert.equal(installed.details['reason'], 'COMMITTED');
  assert.equal(installed.details['version'], '1.1.0');
  const committed = await waitSettled(vm);
  assert.equal(committed.status.committed, 'b');
  assert.equal(committed.status.app?.version, '1.1.0');

  const boots = vm.boots.length;
  const bootBefore = vm.boots.at(-1)?.bootId;
  fleet.createJob('reboot-1', { twinslot: 1, operation: 'reboot' });
  const rebooted = await fleet.final('reboot-1');
  t.diagnostic(`reboot job: ${JSON.stringify(rebooted)}`);
  if (rebooted.status !== 'SUCCEEDED') {
    const log = await vm.exec(`grep -a -e reboot ${AGENT_LOG} ${SUPERVISOR_LOG} | tail -n 20`);
    assert.fail(`the reboot job ended ${rebooted.status}: ${JSON.stringify(rebooted.details)}; ${vm.boots.length - boots} boots since; reboot log lines:\n${log.stdout}`);
  }
  assert.equal(rebooted.details['reason'], 'REBOOTED');
  assert.ok(vm.boots.length > boots, 'the VM really rebooted');
  const boot = vm.boots.at(-1);
  assert.notEqual(boot?.bootId, bootBefore);
  assert.equal(boot?.watchdogBootStatus, 0, 'an orderly reboot, not a watchdog reset');

  // After the reboot: still 1.1.0, committed, running, no trial.
  const after = await waitSettled(vm);
  assert.equal(after.status.committed, 'b');
  assert.equal(after.status.app?.version, '1.1.0');
  assert.equal(after.state.trial, null);
  assert.equal(await runningAppVersion(vm), '1.1.0');
});
