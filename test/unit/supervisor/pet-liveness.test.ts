// The supervisor's watchdog setup pets only while its event loop is live: a blocked loop stops
// the pets, and the first tick after the block is skipped for its lag.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../../common/clock.ts';
import { silentLogger } from '../../../common/log.ts';
import { setupWatchdog } from '../../../supervisor/watchdog-setup.ts';

function journal(file: string): Array<{ op: string; at: number }> {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; at: number });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await sleep(50);
  assert.ok(check(), 'condition not reached within 30 s');
}

test('a blocked event loop stops the pets; petting resumes once the loop is live again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-pet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const recordFile = join(dir, 'wd.jsonl');
  const wd = await setupWatchdog({ device: 'recording', timeoutSeconds: 0.3, maxLagMs: 60, recordFile, recordBootStatus: 0 }, systemClock, silentLogger());
  t.after(() => wd.stopMagic());
  await until(() => wd.stats().pets >= 2);

  const blockStart = performance.now();
  while (performance.now() - blockStart < 1000) {
    // busy: the event loop is stuck, as in a hung supervisor
  }
  const blockEnd = performance.now();
  const skippedBefore = wd.stats().skipped;
  await until(() => wd.stats().skipped > skippedBefore || wd.stats().pets >= 1000);
  const petsAfterBlock = wd.stats().pets;
  await until(() => wd.stats().pets > petsAfterBlock);
  wd.stopMagic();

  const pets = journal(recordFile).filter((e) => e.op === 'pet').map((e) => e.at);
  assert.equal(pets.filter((at) => at > blockStart && at < blockEnd).length, 0, 'no pet while the loop was blocked');
  assert.ok(wd.stats().skipped > skippedBefore, 'the late tick after the block was skipped');
  assert.equal(journal(recordFile).at(-1)?.op, 'magic-close');
  assert.equal(wd.status().state, 'closed');
});

test('a device path that does not exist means running without a watchdog', async () => {
  const wd = await setupWatchdog({ device: '/nonexistent/watchdog', timeoutSeconds: 30, maxLagMs: 100, recordFile: null, recordBootStatus: 0 }, systemClock, silentLogger());
  assert.equal(wd.status().state, 'absent');
  wd.stopMagic();
  assert.equal(wd.stats().pets, 0);
});

test('a watchdog-caused reboot is reported from the boot status', async () => {
  const wd = await setupWatchdog({ device: 'recording', timeoutSeconds: 30, maxLagMs: 100, recordFile: null, recordBootStatus: 0x20 }, systemClock, silentLogger());
  assert.equal(wd.status().rebootedByWatchdog, true);
  assert.equal(wd.status().bootStatus, 0x20);
  wd.stopMagic();
});
