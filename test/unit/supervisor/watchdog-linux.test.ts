// The Linux watchdog's failure paths, driven through the real libc calls on ordinary files.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLinuxWatchdog } from '../../../supervisor/watchdog/index.ts';

describe('Linux watchdog failure paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-wd-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reports a missing device as WATCHDOG_UNAVAILABLE', async () => {
    const dog = createLinuxWatchdog(join(root, 'no-such-watchdog'));
    await assert.rejects(dog.open(10), { code: 'WATCHDOG_UNAVAILABLE' });
    assert.throws(() => dog.pet(), { code: 'WATCHDOG_NOT_OPEN' });
  });

  it('reports a file that is not a watchdog as WATCHDOG_IOCTL_FAILED and disarms it with the magic V', async () => {
    const path = join(root, 'not-a-watchdog');
    writeFileSync(path, '');
    const dog = createLinuxWatchdog(path);
    await assert.rejects(dog.open(10), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'WATCHDOG_IOCTL_FAILED');
      assert.match((err as Error).message, /WDIOC_GETSUPPORT.*ENOTTY/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), 'V');
    assert.throws(() => dog.pet(), { code: 'WATCHDOG_NOT_OPEN' });
  });
});
