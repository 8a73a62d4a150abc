// The rig itself: the VM boots the Debian kernel with the watchdog loaded, runs Node 24,
// reaches the host's loopback only through guestfwd (also mirrored on its own loopback), and its disks keep what was synced
// across a reset and across a power cut (QEMU killed and started again).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startTestVm } from './rig/harness.ts';

test('rig smoke: boots with the watchdog, runs Node 24, keeps its disks across reset and power cut', async (t) => {
  const server = createServer((s) => s.end('pong from host\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const hostPort = (server.address() as AddressInfo).port;

  const started = Date.now();
  const vm = await startTestVm(t, {
    data: { 'etc/twinslot/config.json': '{"device":{"thingName":"vm-1"}}\n' },
    forwards: [{ guestPort: 8883, hostPort }],
    loopback: [hostPort],
  });
  const first = vm.boots[0];
  assert.ok(first);
  t.diagnostic(`first boot answered after ${((first.at - started) / 1000).toFixed(1)} s (build included)`);

  const modules = await vm.sh('cut -d" " -f1 /proc/modules');
  for (const m of ['watchdog', 'i6300esb', 'ext4', 'virtio_blk', 'virtio_net']) assert.match(modules, new RegExp(`^${m}$`, 'm'));
  assert.equal((await vm.sh('cat /sys/class/watchdog/watchdog0/identity')).trim(), 'i6300ESB timer');
  assert.equal(first.watchdogBootStatus, 0);
  assert.match(await vm.sh('node -e "console.log(process.version)"'), /^v24\./);
  assert.equal((await vm.readFile('/etc/twinslot/config.json')).toString(), '{"device":{"thingName":"vm-1"}}\n');
  assert.equal(await vm.sh('echo ping | nc 10.0.2.100 8883'), 'pong from host\n');
  // The same host port at the guest's own loopback, twice (one relay per connection).
  for (let i = 0; i < 2; i++) assert.equal(await vm.sh(`echo ping | nc 127.0.0.1 ${hostPort}`), 'pong from host\n');

  // A synced file survives a hard reset; the guest comes back with a new boot id.
  await vm.writeFile('/var/lib/twinslot/persist.txt', 'kept\n');
  const before = vm.boots.length;
  const resetAt = Date.now();
  await vm.reset();
  const second = await vm.waitBoot(before);
  t.diagnostic(`reboot after system_reset answered in ${((second.at - resetAt) / 1000).toFixed(1)} s`);
  assert.notEqual(second.bootId, first.bootId);
  assert.equal((await vm.readFile('/var/lib/twinslot/persist.txt')).toString(), 'kept\n');

  // A power cut: QEMU killed, booted again from the same disks.
  await vm.writeFile('/var/lib/twinslot/persist.txt', 'kept again\n');
  await vm.kill();
  const third = await vm.start();
  assert.notEqual(third.bootId, second.bootId);
  assert.equal((await vm.readFile('/var/lib/twinslot/persist.txt')).toString(), 'kept again\n');
});
