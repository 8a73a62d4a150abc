// The pet loop stops petting while the event loop is blocked and resumes once it is live again.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { systemClock } from '../../../common/clock.ts';
import { silentLogger } from '../../../common/log.ts';
import { createPetLoop, createRecordingWatchdog, type RecordingWatchdog } from '../../../supervisor/watchdog/index.ts';

const DEADLINE_MS = 30_000;

function waitForPets(dog: RecordingWatchdog, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (dog.pets.length >= count) return resolve();
    const timer = setTimeout(() => reject(new Error(`fewer than ${count} pets before the deadline`)), DEADLINE_MS);
    const off = dog.onPet(() => {
      if (dog.pets.length < count) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function blockEventLoop(ms: number): { from: number; to: number } {
  const from = performance.now();
  while (performance.now() - from < ms) {
    // busy: nothing else on this thread runs, exactly like a supervisor stuck in a loop
  }
  return { from, to: performance.now() };
}

describe('pet loop', () => {
  it('pets at a third of the timeout while the loop is live', async () => {
    const dog = createRecordingWatchdog();
    await dog.open(1);
    const loop = createPetLoop({ watchdog: dog, clock: systemClock, timeoutSeconds: 1, maxLagMs: 200, logger: silentLogger() });
    loop.start();
    try {
      await waitForPets(dog, 3);
      assert.ok(loop.stats().pets >= 3);
    } finally {
      loop.stop();
      dog.closeMagic();
    }
    assert.equal(dog.magicClosed, true);
  });

  it('skips the pet after a blocked loop, then resumes', async () => {
    const dog = createRecordingWatchdog();
    await dog.open(1);
    const loop = createPetLoop({ watchdog: dog, clock: systemClock, timeoutSeconds: 1, maxLagMs: 200, logger: silentLogger() });
    loop.start();
    try {
      await waitForPets(dog, 1);
      const before = dog.pets.length;
      const blocked = blockEventLoop(1200);
      await waitForPets(dog, before + 1);
      const petsInside = dog.pets.filter((at) => at > blocked.from && at < blocked.to);
      assert.deepEqual(petsInside, []);
      assert.ok(loop.stats().skipped >= 1, 'the first tick after the block must not pet');
      assert.ok(loop.stats().lastLagMs <= 200, 'pets resume only once the lag is back under the threshold');
    } finally {
      loop.stop();
      dog.closeMagic();
    }
  });

  it('stop() ends the pets', async () => {
    const dog = createRecordingWatchdog();
    await dog.open(1);
    const loop = createPetLoop({ watchdog: dog, clock: systemClock, timeoutSeconds: 1, maxLagMs: 200, logger: silentLogger() });
    loop.start();
    await waitForPets(dog, 1);
    loop.stop();
    const count = dog.pets.length;
    await systemClock.sleep(800);
    assert.equal(dog.pets.length, count);
    dog.closeMagic();
  });
});
