// Scenario 5: the supervisor holds the i6300esb and pets it; SIGTERM stops it cleanly, it
// writes the magic 'V' and closes, and the VM is not reset afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestVm } from './rig/harness.ts';
import { twinslotSourcePayload } from './rig/payload.ts';
import { guestStatus, SUPERVISOR_BOOT_SCRIPT, SUPERVISOR_LOG, waitSupervisorEvent } from './guest/supervisor-service.ts';

const TIMEOUT_S = 5;
const config = { supervisor: { watchdog: { device: '/dev/watchdog', timeoutSeconds: TIMEOUT_S } } };

test('clean shutdown: SIGTERM → magic close → no watchdog reset afterwards', async (t) => {
  const vm = await startTestVm(t, {
    payloadImage: await twinslotSourcePayload(),
    data: { 'etc/twinslot/config.json': JSON.stringify(config) },
    bootScript: SUPERVISOR_BOOT_SCRIPT,
    collectOnFailure: [SUPERVISOR_LOG],
  });
  const bootId = vm.boots[0]?.bootId;
  const pid = await waitSupervisorEvent(vm, 'supervisor-started');

  const status = await guestStatus(vm);
  assert.equal(status.watchdog?.state, 'active');
  assert.equal(status.watchdog.identity, 'i6300ESB timer');
  assert.equal(status.watchdog.timeoutSeconds, TIMEOUT_S);
  assert.equal(await vm.sh('cat /sys/class/watchdog/watchdog0/state'), 'active\n');
  // Alive through more than two timeouts: the pets really reach the device.
  await vm.sh(`sleep ${2 * TIMEOUT_S + 1}`);
  assert.ok(((await guestStatus(vm)).counters?.pets ?? 0) >= 2);

  await vm.sh(`kill -TERM ${pid}; while kill -0 ${pid} 2>/dev/null; do sleep 0.2; done`);
  assert.match(await vm.sh(`cat ${SUPERVISOR_LOG}`), /"event":"supervisor-stopped"/);
  assert.equal(await vm.sh('cat /sys/class/watchdog/watchdog0/state'), 'inactive\n');

  // Three timeouts with nobody petting: an armed device would have reset the VM by now.
  await vm.sh(`sleep ${3 * TIMEOUT_S + 2}`);
  assert.deepEqual(vm.qmp.events.items.filter((e) => e.event === 'WATCHDOG' || e.event === 'RESET'), []);
  assert.equal(vm.boots.length, 1);
  assert.equal((await vm.sh('cat /proc/sys/kernel/random/boot_id')).trim(), bootId);
  assert.doesNotMatch(await vm.sh('dmesg'), /watchdog did not stop/);
});
