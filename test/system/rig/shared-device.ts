// One device for every test of a file: the emulator on the host, one VM, its console's phase
// tail. Installing twinslot and booting a device costs about a minute under TCG, so the update
// scenarios (release install, good update + reboot, bad update, power cuts) share one device
// and run in order, each its own node:test test. The first test installs it (installDevice,
// marked `install: true`); the others fail at once if that did not succeed.
//
// The VM's logs are kept when any of the file's tests failed, like startTestVm does for one test.

import { after, before, test, type TestContext } from 'node:test';
import { releasePayload } from './release.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { startTestVm } from './harness.ts';
import { PhaseTail, WATCHER_EXTRAS } from './phase-watch.ts';
import type { Vm } from './vm.ts';
import { deviceVmOptions } from '../guest/device-service.ts';

// Bundles download at this rate, so a power cut can land inside a download (a bundle of the
// power-cut jobs takes about 2 s); the other scenarios' bundles are a few KiB.
const FILES_BYTES_PER_SECOND = 192 * 1024;

export interface Device {
  fleet: Fleet;
  vm: Vm;
  /** TSPHASE samples from the serial console (where an update is, for power cuts). */
  tail: PhaseTail;
  /** The version of the initial bundle that install.sh commits. */
  initialVersion: string;
}

/** A device started before the file's first test and stopped after its last one. */
export class SharedDevice {
  readonly name: string;
  #cleanups: (() => unknown)[] = [];
  #failed = false;
  #device: Device | undefined;
  #installed = false;

  constructor(name: string) {
    this.name = name;
    before(() => this.#start(), { timeout: 600_000 });
    after(() => this.#stop());
  }

  /** Read by the VM harness: keep the logs unless every test passed. */
  get passed(): boolean {
    return !this.#failed;
  }

  /** Cleanup after the file's last test (the fleet and VM harnesses register theirs here). */
  after(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** A node:test test on the device; `install` marks the test that installs twinslot. */
  test(title: string, body: (d: Device, t: TestContext) => Promise<void>, opts: { install?: boolean; timeout?: number } = {}): void {
    test(title, { timeout: opts.timeout ?? 900_000 }, async (t) => {
      try {
        const d = this.#device;
        if (!d) throw new Error('the shared device did not start (see the before hook)');
        if (!opts.install && !this.#installed) throw new Error('twinslot was not installed on the device (see the install test)');
        await body(d, t);
        if (opts.install) this.#installed = true;
      } catch (err) {
        this.#failed = true;
        throw err;
      }
    });
  }

  async #start(): Promise<void> {
    try {
      const fleet = await startFleet(this, { filesBytesPerSecond: FILES_BYTES_PER_SECOND });
      const initialVersion = '1.0.0';
      const initial = await fleet.bundle(initialVersion);
      const vm = await startTestVm(this, await deviceVmOptions(fleet, await releasePayload(), initial.file, WATCHER_EXTRAS));
      const tail = new PhaseTail(vm.setup.consoleLog);
      await tail.start();
      this.after(() => tail.stop());
      this.#device = { fleet, vm, tail, initialVersion };
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  async #stop(): Promise<void> {
    for (const fn of this.#cleanups.reverse()) await fn();
  }
}
