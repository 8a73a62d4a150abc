// A whole device in the VM, shared by its scenarios in order: the release installed with its own
// install.sh (busybox userland, no systemd), the supervisor as root and the agent as `twinslot`,
// the emulator on the host. Then scenario 2 (a bad update rolls back), scenario 1 (a good update,
// then a reboot job: a real VM reboot) and scenario 4 (power cuts across update phases).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installDoc } from './rig/fleet.ts';
import { REPO_ROOT } from './rig/paths.ts';
import { runPowerCuts } from './rig/power-cuts.ts';
import { INSTALLED_TWINSLOT } from './rig/release.ts';
import { SharedDevice } from './rig/shared-device.ts';
import { SETTLE_DELAY_MS } from '../../supervisor/lean-runtime.ts';
import { AGENT_LOG, installDevice, runningAppVersion, waitSettled } from './guest/device-service.ts';
import { SUPERVISOR_LOG } from './guest/supervisor-service.ts';

const POWER_CUTS = 20;
const device = new SharedDevice('device');

device.test('release: install.sh inside the VM, the installed supervisor holds the i6300esb after a reboot', async (d) => {
  await installDevice(d.vm, d.fleet);
  const config = JSON.parse((await d.vm.readFile('/etc/twinslot/config.json')).toString()) as { device?: { thingName?: string } };
  assert.equal(config.device?.thingName, 'vm-1');
  const { status, state } = await waitSettled(d.vm);
  assert.equal(status.watchdog?.state, 'active');
  assert.equal(status.watchdog.identity, 'i6300ESB timer');
  assert.equal(status.committed, 'a');
  assert.equal(status.app?.version, d.initialVersion);
  assert.equal(state.trial, null);
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await d.vm.sh(`${INSTALLED_TWINSLOT} --version`)).trim(), version);
  assert.match(await d.vm.sh('readlink -f /opt/twinslot/current'), new RegExp(`/${version.replaceAll('.', '\\.')}$`, 'm'));
}, { install: true });

device.test('bad update: the trial fails, the device rolls back, the job is FAILED with the reason', async (d, t) => {
  const bad = await d.fleet.bundle('2.0.0', 'bad');
  d.fleet.createJob('bad-2-0-0', installDoc(bad));
  const final = await d.fleet.final('bad-2-0-0');
  t.diagnostic(`final: ${JSON.stringify(final)}`);
  assert.equal(final.status, 'FAILED');
  assert.equal(final.details['reason'], 'HEALTH_CHECK_FAILED');
  assert.equal(final.details['version'], '2.0.0');
  assert.ok((final.details['message'] ?? '').length > 0, 'the failure says why');
  assert.ok((final.details['healthCode'] ?? '').length > 0, 'the supervisor code is reported');

  // Back on 1.0.0 in slot a, running; slot b is marked failed with the same reason.
  const after = await waitSettled(d.vm);
  assert.equal(after.status.committed, 'a');
  assert.equal(after.status.current, 'a');
  assert.equal(after.status.app?.version, d.initialVersion);
  assert.equal(after.status.slots.b.status, 'failed');
  assert.equal(after.status.lastOutcome?.kind, 'rolled-back');
  assert.equal(after.status.lastOutcome.jobId, 'bad-2-0-0');
  assert.equal(after.status.lastOutcome.code, final.details['healthCode']);
  assert.equal(after.state.committed, 'a');
  assert.equal(after.state.trial, null);
  assert.equal(await runningAppVersion(d.vm), d.initialVersion);
});

// The agent never activates with `reboot: true` (install documents have no such field), so the
// reboot is the `reboot` job operation right after the install job. The agent (user `twinslot`)
// asks the supervisor (root) to reboot, as the units install them.
device.test('good update then reboot job: committed, SUCCEEDED after a real reboot, new version runs', async (d, t) => {
  const { fleet, vm } = d;
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

  // A figure, not a check: the installed supervisor's idle memory on a device with a real
  // watchdog (koffi loaded), after its post-start settle; bench/swap.ts measures it on the host.
  // The guest kernel has transparent huge pages `always`, which the figure includes.
  await new Promise((r) => setTimeout(r, SETTLE_DELAY_MS + 3000));
  const pid = after.status.pid ?? 0;
  const mem = await vm.sh(`grep -hE '^(VmRSS|RssAnon|RssFile|AnonHugePages):' /proc/${pid}/status /proc/${pid}/smaps_rollup | awk '{printf "%s %s kB, ", $1, $2}'; echo "THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"`);
  t.diagnostic(`installed supervisor (pid ${pid}) idle, real watchdog: ${mem.trim()}`);
});

device.test(`power cuts: ${POWER_CUTS} hard resets and QEMU kills across update phases, never bricked or stuck`, async (d, t) => {
  await runPowerCuts(d, t, POWER_CUTS);
}, { timeout: 1_800_000 });
