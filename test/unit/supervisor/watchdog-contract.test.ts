// One contract for every Watchdog: the recording double and, where a safe device exists, Linux.

import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Watchdog } from '../../../supervisor/ports.ts';
import { createLinuxWatchdog, createRecordingWatchdog, WDIOF_CARDRESET } from '../../../supervisor/watchdog/index.ts';

function watchdogContract(name: string, make: () => Watchdog, skip: string | false): void {
  describe(`Watchdog contract: ${name}`, { skip }, () => {
    it('opens with a positive timeout and identity, and pets while open', async () => {
      const dog = make();
      const info = await dog.open(10);
      try {
        assert.ok(info.timeoutSeconds > 0);
        assert.equal(typeof info.identity, 'string');
        assert.equal(typeof info.bootStatus, 'number');
        dog.pet();
        dog.pet();
      } finally {
        dog.closeMagic();
      }
    });

    it('is single-open: a second open while open fails with WATCHDOG_BUSY', async () => {
      const dog = make();
      await dog.open(10);
      try {
        await assert.rejects(dog.open(10), { code: 'WATCHDOG_BUSY' });
      } finally {
        dog.closeMagic();
      }
    });

    it('refuses pets before open and after a magic close; closing twice is harmless', async () => {
      const dog = make();
      assert.throws(() => dog.pet(), { code: 'WATCHDOG_NOT_OPEN' });
      await dog.open(10);
      dog.closeMagic();
      dog.closeMagic();
      assert.throws(() => dog.pet(), { code: 'WATCHDOG_NOT_OPEN' });
    });

    it('can be reopened after a magic close', async () => {
      const dog = make();
      await dog.open(10);
      dog.closeMagic();
      const info = await dog.open(12);
      dog.pet();
      dog.closeMagic();
      assert.ok(info.timeoutSeconds > 0);
    });
  });
}

watchdogContract('recording double', () => createRecordingWatchdog(), false);

// Opening a real device arms it; only a software watchdog (or a device named explicitly for
// this purpose) is safe to open from a test, because a crash mid-test would reset the machine.
const explicitDevice = process.env['TWINSLOT_TEST_WATCHDOG'];
const device = explicitDevice ?? '/dev/watchdog0';
const softdog = existsSync('/sys/class/watchdog/watchdog0/identity')
  && readFileSync('/sys/class/watchdog/watchdog0/identity', 'utf8').trim() === 'Software Watchdog';
const linuxSkip = explicitDevice !== undefined || (softdog && existsSync(device))
  ? false
  : 'no safe watchdog device: /dev/watchdog0 is absent or not softdog (load `modprobe softdog soft_noboot=1`, or set TWINSLOT_TEST_WATCHDOG)';
watchdogContract(`Linux device ${device}`, () => createLinuxWatchdog(device), linuxSkip);

describe('recording double specifics', () => {
  it('records pet timestamps, the timeout, the boot status and how it was closed', async () => {
    let now = 100;
    const clock = { now: () => now, monotonic: () => now, sleep: () => Promise.resolve() };
    const dog = createRecordingWatchdog(clock, { bootStatus: WDIOF_CARDRESET });
    const info = await dog.open(9);
    dog.pet();
    now = 250;
    dog.pet();
    assert.deepEqual(dog.pets, [100, 250]);
    assert.equal(info.bootStatus & WDIOF_CARDRESET, WDIOF_CARDRESET);
    assert.equal(dog.timeoutSeconds, 9);
    assert.equal(dog.state, 'open');
    dog.closeArmed();
    assert.equal(dog.state, 'armed-closed');
    assert.equal(dog.magicClosed, false);
    await dog.open(9);
    dog.closeMagic();
    assert.equal(dog.magicClosed, true);
  });
});
