// Scenario: a process holding /dev/watchdog stops petting it → QEMU's i6300esb resets the VM
// about one timeout later, and the next boot reports a watchdog-caused reboot (and only that
// boot). Both ways a holder can fail are covered: hung (alive, silent) and crashed (closed
// without the magic 'V').

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestVm } from './rig/harness.ts';
import { GUEST_TWINSLOT, twinslotSourcePayload } from './rig/payload.ts';
import type { Vm } from './rig/vm.ts';

const TIMEOUT_S = 5;
const WDIOF_CARDRESET = 0x20;
const HOLDER = `node ${GUEST_TWINSLOT}/test/system/guest/watchdog-holder.ts /dev/watchdog ${TIMEOUT_S}`;

interface HolderInfo {
  identity: string;
  timeoutSeconds: number;
  bootStatus: number;
  options: number;
}

// Arms the watchdog in the guest, then waits for QEMU's WATCHDOG event and the next boot.
async function holdAndWaitReset(vm: Vm, mode: 'hang' | 'crash'): Promise<{ info: HolderInfo; latencyS: number; bootStatus: number | null }> {
  const events = vm.qmp.events.items.length;
  const boots = vm.boots.length;
  const line = mode === 'hang'
    ? await vm.startBackground(`${HOLDER} hang`, '/run/holder.out')
    : (await vm.exec(`${HOLDER} crash`)).stdout;
  const armedAt = Date.now();
  const info = JSON.parse(line) as HolderInfo;
  const fired = await vm.qmp.events.waitFor((e) => e.event === 'WATCHDOG', 'the i6300esb to fire', 120_000, events);
  assert.equal(fired.data.action, 'reset');
  const boot = await vm.waitBoot(boots);
  return { info, latencyS: (fired.at - armedAt) / 1000, bootStatus: boot.watchdogBootStatus };
}

test('watchdog reset: a hung or crashed holder gets the VM reset, and the next boot says why', async (t) => {
  const vm = await startTestVm(t, { payloadImage: await twinslotSourcePayload() });
  assert.equal(vm.boots[0]?.watchdogBootStatus, 0);

  const hung = await holdAndWaitReset(vm, 'hang');
  assert.equal(hung.info.identity, 'i6300ESB timer');
  assert.equal(hung.info.timeoutSeconds, TIMEOUT_S, 'WDIOC_SETTIMEOUT took effect');
  assert.equal(hung.info.bootStatus, 0, 'a cold boot is not a watchdog reboot');
  // Bounds only prove which timeout was in force: not before half of it (pets really stopped
  // and the device honoured the new timeout), long before the driver's 30 s default.
  t.diagnostic(`hung holder: WATCHDOG event ${hung.latencyS.toFixed(1)} s after the last pet (timeout ${TIMEOUT_S} s)`);
  assert.ok(hung.latencyS >= TIMEOUT_S / 2 && hung.latencyS < 30, `reset ${hung.latencyS} s after the last pet`);
  assert.equal(hung.bootStatus, WDIOF_CARDRESET, 'bootstatus after a watchdog reset');

  const crashed = await holdAndWaitReset(vm, 'crash');
  t.diagnostic(`crashed holder: WATCHDOG event ${crashed.latencyS.toFixed(1)} s after the last pet`);
  assert.equal(crashed.info.bootStatus, WDIOF_CARDRESET, 'the driver reports the previous watchdog reset on open');
  assert.ok(crashed.latencyS >= TIMEOUT_S / 2 && crashed.latencyS < 30, `reset ${crashed.latencyS} s after the last pet`);
  assert.equal(crashed.bootStatus, WDIOF_CARDRESET);

  // An ordinary reset afterwards (QMP system_reset, like the reset line) is not reported as a
  // watchdog reboot: the driver clears the device's timeout flag when it probes, so the flag
  // speaks only of the reset just before this boot.
  const boots = vm.boots.length;
  await vm.reset();
  assert.equal((await vm.waitBoot(boots)).watchdogBootStatus, 0);
});
