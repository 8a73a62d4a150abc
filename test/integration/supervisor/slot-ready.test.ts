// slot-ready syncs the slot's contents to disk before recording `ready`: a slot with nested
// files becomes ready; one holding an entry that cannot be synced is refused and stays
// `installing`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fillSlot, freePort, makeDevice, startSupervisor, teardown } from './harness.ts';
import { SlotStore } from '../../../slots/store.ts';
import { silentLogger } from '../../../common/log.ts';

const run = promisify(execFile);

test('slot-ready syncs nested contents before recording ready, and refuses what it cannot sync', { timeout: 90_000 }, async (t) => {
  const device = makeDevice();
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const port = await freePort();

  await t.test('nested files, directories and a dangling symlink: ready', async () => {
    const { slot, path } = await client.request('prepare-slot');
    fillSlot(device.paths, slot, { fixture: 'healthy-http.mjs', version: '1.0.0', port });
    mkdirSync(join(path, 'lib', 'deep', 'er'), { recursive: true });
    writeFileSync(join(path, 'lib', 'deep', 'er', 'data.bin'), Buffer.alloc(4096, 7));
    writeFileSync(join(path, 'lib', 'top.txt'), 'top\n');
    symlinkSync('/nonexistent/target', join(path, 'lib', 'dangling'));
    const result = await client.request('slot-ready', { slot });
    assert.equal(result.version, '1.0.0');
    const synced = await sup.waitLog('slot-synced', (l) => l.slot === slot);
    assert.ok(Number(synced.entries) >= 8, `files and directories synced: ${String(synced.entries)}`);
    assert.equal(new SlotStore(device.paths, silentLogger()).load().state.slots[slot].status, 'ready');
  });

  await t.test('an entry that cannot be synced (a FIFO): SLOT_SYNC_FAILED, the slot stays installing', async () => {
    const { slot, path } = await client.request('prepare-slot');
    fillSlot(device.paths, slot, { fixture: 'healthy-http.mjs', version: '2.0.0', port });
    mkdirSync(join(path, 'run'));
    await run('mkfifo', [join(path, 'run', 'pipe')]);
    await assert.rejects(client.request('slot-ready', { slot }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SLOT_SYNC_FAILED');
      assert.match(err.message, new RegExp(`slot ${slot}: cannot sync run/pipe`));
      return true;
    });
    const state = new SlotStore(device.paths, silentLogger()).load().state;
    assert.equal(state.slots[slot].status, 'installing');
    const status = await client.request('status');
    assert.equal(status.slots[slot].status, 'installing');
  });
});
