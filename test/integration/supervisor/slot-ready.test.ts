// slot-ready: the supervisor takes the slot from the agent, verifies the signature and every
// entry itself, and syncs the contents to disk before recording `ready`. A slot that holds
// anything else than its signed manifest says is refused and stays `installing`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fillSlot, freePort, makeDevice, startSupervisor, teardown } from './harness.ts';
import { SlotStore } from '../../../slots/store.ts';
import { silentLogger } from '../../../common/log.ts';

const run = promisify(execFile);

test('slot-ready verifies and syncs nested contents before recording ready, and refuses what the manifest does not say', { timeout: 90_000 }, async (t) => {
  const device = makeDevice();
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const port = await freePort();
  const state = (): ReturnType<SlotStore['load']> => new SlotStore(device.paths, silentLogger()).load();
  const nested = [
    { type: 'dir', path: 'lib' }, { type: 'dir', path: 'lib/deep' }, { type: 'dir', path: 'lib/deep/er' },
    { type: 'file', path: 'lib/deep/er/data.bin', content: Buffer.alloc(4096, 7) },
    { type: 'file', path: 'lib/top.txt', content: 'top\n' },
    { type: 'symlink', path: 'lib/dangling', target: 'missing.txt' },
  ] as const;

  await t.test('nested files, directories and a dangling symlink: ready, root\'s', async () => {
    const { slot, path } = await client.request('prepare-slot');
    fillSlot(device.paths, slot, { fixture: 'healthy-http.mjs', version: '1.0.0', port, tree: [...nested] });
    const result = await client.request('slot-ready', { slot });
    assert.equal(result.version, '1.0.0');
    const synced = await sup.waitLog('slot-synced', (l) => l.slot === slot);
    assert.ok(Number(synced.entries) >= 8, `files and directories synced: ${String(synced.entries)}`);
    assert.equal(state().state.slots[slot].status, 'ready');
    for (const rel of ['.', 'lib', 'lib/deep/er', 'lib/top.txt', 'manifest.json']) {
      const s = statSync(join(path, rel));
      if (process.getuid?.() === 0) assert.equal(s.uid, 0, `${rel} is root's`);
      assert.equal(s.mode & 0o022, 0, `${rel} is writable by nobody else`);
    }
  });

  const refusals: Array<[string, (path: string) => Promise<void> | void, string, RegExp]> = [
    ['a FIFO where the manifest lists a file', async (path) => {
      rmSync(join(path, 'lib', 'top.txt'));
      await run('mkfifo', [join(path, 'lib', 'top.txt')]);
    }, 'SLOT_CONTENT_INVALID', /lib\/top\.txt: is a FIFO, not a file/],
    ['an entry the manifest does not list', (path) => writeFileSync(join(path, 'lib', 'extra.sh'), 'id\n'), 'SLOT_CONTENT_INVALID', /lib\/extra\.sh: is not in the manifest/],
    ['a file changed after signing', (path) => writeFileSync(join(path, 'lib', 'top.txt'), 'TOP\n'), 'SLOT_CONTENT_INVALID', /lib\/top\.txt: sha256 \w+ differs/],
    ['a file of another size', (path) => writeFileSync(join(path, 'lib', 'top.txt'), 'longer\n'), 'SLOT_CONTENT_INVALID', /lib\/top\.txt: is 7 bytes, the manifest says 4/],
    ['no signature', (path) => rmSync(join(path, 'manifest.sig')), 'BUNDLE_SIGNATURE_MISSING', /manifest\.sig: is missing/],
    ['a signature over other bytes', (path) => writeFileSync(join(path, 'manifest.json'), `${'{"format":1}'}\n`), 'BUNDLE_SIGNATURE_INVALID', /does not verify/],
  ];
  for (const [name, damage, code, message] of refusals) {
    await t.test(`${name}: ${code}, the slot stays installing`, async () => {
      const { slot, path } = await client.request('prepare-slot');
      fillSlot(device.paths, slot, { fixture: 'healthy-http.mjs', version: '2.0.0', port, tree: [...nested] });
      await damage(path);
      await assert.rejects(client.request('slot-ready', { slot }), (err: Error & { code?: string }) => {
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
      assert.equal(state().state.slots[slot].status, 'installing');
      assert.equal((await client.request('status')).slots[slot].status, 'installing');
    });
  }
});

test('a state with no manifest digest (rebuilt after damage) runs a slot only after verifying it in full', { timeout: 90_000 }, async (t) => {
  const { initialState } = await import('../../../slots/state.ts');
  const { waitForVersion } = await import('./harness.ts');
  for (const tamper of [false, true]) {
    const device = makeDevice();
    const port = await freePort();
    fillSlot(device.paths, 'a', { fixture: 'healthy-http.mjs', version: '1.0.0', port });
    if (tamper) writeFileSync(join(device.paths.slot('a'), 'serve.mjs'), 'process.exit(0)\n');
    const store = new SlotStore(device.paths, silentLogger());
    const s = initialState('a');
    s.slots.a = { status: 'ready', version: '1.0.0', manifestSha256: '' };
    store.save(s);
    store.flipCurrent('a');
    const sup = await startSupervisor(device);
    t.after(() => teardown(device, sup));
    if (tamper) {
      const failed = await sup.waitLog('app-start-failed');
      assert.equal(failed.code, 'SLOT_CONTENT_INVALID');
      assert.match(String(failed.err), /serve\.mjs: is 16 bytes, the manifest says/);
    } else {
      await waitForVersion(port, '1.0.0');
      assert.equal(statSync(device.paths.slot('a')).uid, process.getuid?.() ?? 0);
    }
  }
});
