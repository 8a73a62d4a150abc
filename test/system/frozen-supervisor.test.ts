// Scenario 3: the supervisor is frozen (SIGSTOP) during a trial → the i6300esb resets the VM
// within the timeout → after boot the attempt is counted and the watchdog-caused reboot is
// reported → when the attempts run out the trial ends in rollback to the committed slot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestVm } from './rig/harness.ts';
import { GUEST_TWINSLOT, twinslotSourcePayload } from './rig/payload.ts';
import type { Vm } from './rig/vm.ts';
import type { StatusReport } from '../../ipc/protocol.ts';
import { SUPERVISOR_BOOT_SCRIPT, SUPERVISOR_LOG, waitSupervisorEvent } from './guest/supervisor-service.ts';

const TIMEOUT_S = 5;
const WDIOF_CARDRESET = 0x20;
const DRIVER = `node ${GUEST_TWINSLOT}/test/system/guest/slot-driver.ts`;
const config = {
  supervisor: { watchdog: { device: '/dev/watchdog', timeoutSeconds: TIMEOUT_S }, trial: { attempts: 2 }, rebootCommand: ['/sbin/reboot'] },
  // The rig's root disk has no twinslot-app user (install.sh makes it); any unprivileged user will do.
  app: { user: 'nobody' },
};

async function driver(vm: Vm, args: string): Promise<StatusReport> {
  return JSON.parse(await vm.sh(`${DRIVER} ${args}`, 400_000)) as StatusReport;
}

// SIGSTOPs the supervisor, then waits for the watchdog to reset the VM and for the next boot.
async function freezeSupervisor(vm: Vm): Promise<{ latencyS: number; bootStatus: number | null }> {
  const events = vm.qmp.events.items.length;
  const boots = vm.boots.length;
  await vm.sh('kill -STOP "$(cat /run/supervisor.pid)"');
  const frozenAt = Date.now();
  const fired = await vm.qmp.events.waitFor((e) => e.event === 'WATCHDOG', 'the i6300esb to reset the frozen supervisor', 120_000, events);
  assert.equal(fired.data.action, 'reset');
  const boot = await vm.waitBoot(boots);
  return { latencyS: (fired.at - frozenAt) / 1000, bootStatus: boot.watchdogBootStatus };
}

test('frozen supervisor during a trial: watchdog resets count attempts, then roll back', async (t) => {
  const vm = await startTestVm(t, {
    payloadImage: await twinslotSourcePayload(),
    data: { 'etc/twinslot/config.json': JSON.stringify(config) },
    bootScript: SUPERVISOR_BOOT_SCRIPT,
    collectOnFailure: [SUPERVISOR_LOG],
  });
  await waitSupervisorEvent(vm, 'supervisor-started');

  // v1 committed in slot a (short probation), then v2 on trial in slot b (long probation).
  assert.equal((await driver(vm, 'install 1.0.0 2') as unknown as { slot: string }).slot, 'a');
  await driver(vm, 'activate a job-1');
  const idle = await driver(vm, 'wait-committed job-1');
  assert.equal(idle.committed, 'a');
  assert.equal((await driver(vm, 'install 2.0.0 3600') as unknown as { slot: string }).slot, 'b');
  await driver(vm, 'activate b job-2');
  const first = await driver(vm, 'wait-running b');
  assert.equal(first.trial?.attemptsLeft, 1);

  // Frozen in the first attempt: reset, the second attempt is counted and runs.
  const reset1 = await freezeSupervisor(vm);
  t.diagnostic(`first freeze: WATCHDOG event ${reset1.latencyS.toFixed(1)} s after SIGSTOP (timeout ${TIMEOUT_S} s)`);
  assert.ok(reset1.latencyS < 30, `reset ${reset1.latencyS} s after SIGSTOP`);
  assert.equal(reset1.bootStatus, WDIOF_CARDRESET);
  const second = await driver(vm, 'wait-running b');
  assert.equal(second.trial?.attemptsLeft, 0);
  assert.equal(second.trial.jobId, 'job-2');
  assert.equal(second.watchdog?.rebootedByWatchdog, true);
  assert.equal(second.watchdog.bootStatus, WDIOF_CARDRESET);

  // Frozen in the last attempt: reset, attempts exhausted → rollback to v1 in slot a.
  const reset2 = await freezeSupervisor(vm);
  t.diagnostic(`second freeze: WATCHDOG event ${reset2.latencyS.toFixed(1)} s after SIGSTOP`);
  const after = await driver(vm, 'wait-rolled-back job-2');
  assert.equal(after.committed, 'a');
  assert.equal(after.current, 'a');
  assert.equal(after.app?.slot, 'a');
  assert.equal(after.app.version, '1.0.0');
  assert.equal(after.slots.b.status, 'failed');
  assert.equal(after.lastOutcome?.kind, 'rolled-back');
  assert.equal(after.lastOutcome.jobId, 'job-2');
  assert.equal(after.lastOutcome.code, 'TRIAL_ATTEMPTS_EXHAUSTED');
  const state = JSON.parse((await vm.readFile('/var/lib/twinslot/state.json')).toString()) as { committed: string; trial: unknown };
  assert.equal(state.committed, 'a');
  assert.equal(state.trial, null);
  const restarts = (await vm.sh(`grep -a '^=== restart' ${SUPERVISOR_LOG} || true`)).trim();
  t.diagnostic(restarts === '' ? 'the supervisor never had to be restarted' : `supervisor restarts (the boot script's Restart=always):\n${restarts}`);
});
