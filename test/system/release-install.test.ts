// The release tarball installs with its own install.sh inside the VM (busybox userland, no
// systemd), survives reboots on the root disk, and its supervisor takes the i6300esb.
// Scenarios 1, 2 and 4 build on this: the same install, plus the emulator forwarded in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestVm } from './rig/harness.ts';
import { REPO_ROOT } from './rig/paths.ts';
import { GUEST_RELEASE, INSTALLED_TWINSLOT, releasePayload } from './rig/release.ts';
import { guestStatus, supervisorBootScript, SUPERVISOR_LOG, waitSupervisorEvent } from './guest/supervisor-service.ts';

// install.sh only copies credentials; nothing connects in this test.
const PLACEHOLDER_PEM = '-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n';

test('release: install.sh inside the VM, supervisor runs from /opt/twinslot after a reboot', async (t) => {
  const vm = await startTestVm(t, {
    payloadImage: await releasePayload(),
    data: { 'rig/device.crt': PLACEHOLDER_PEM, 'rig/device.key': PLACEHOLDER_PEM },
    bootScript: supervisorBootScript(INSTALLED_TWINSLOT),
    collectOnFailure: [SUPERVISOR_LOG, '/run/install.log'],
  });
  const install = await vm.exec(`${GUEST_RELEASE}/install.sh --thing-name vm-1 --endpoint host.rig:8883 --device-type vm-x64 \\
    --cert /data/rig/device.crt --key /data/rig/device.key --watchdog /dev/watchdog --no-start >/run/install.log 2>&1; rc=$?; cat /run/install.log; sync; exit $rc`, 900_000);
  assert.equal(install.code, 0, install.stdout + install.stderr);
  const config = JSON.parse((await vm.readFile('/etc/twinslot/config.json')).toString()) as { device?: { thingName?: string } };
  assert.equal(config.device?.thingName, 'vm-1');

  const boots = vm.boots.length;
  await vm.reset();
  await vm.waitBoot(boots);
  await waitSupervisorEvent(vm, 'supervisor-started');
  const status = await guestStatus(vm, INSTALLED_TWINSLOT);
  assert.equal(status.running, true);
  assert.equal(status.watchdog?.state, 'active');
  assert.equal(status.watchdog.identity, 'i6300ESB timer');
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await vm.sh(`${INSTALLED_TWINSLOT} --version`)).trim(), version);
  assert.match(await vm.sh('readlink -f /opt/twinslot/current'), new RegExp(version.replaceAll('.', '\\.')));
});
