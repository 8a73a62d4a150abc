// The supervisor's failure path: an uncaught exception or an unhandled rejection stops the pets,
// closes the watchdog armed (no magic close), releases what was held in reverse order and exits
// non-zero; a release that hangs does not keep the process from exiting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../../common/clock.ts';
import { silentLogger } from '../../../common/log.ts';
import { setupWatchdog, type WatchdogHandle } from '../../../supervisor/watchdog-setup.ts';
import { Lifecycle } from '../../../supervisor/lifecycle.ts';

function ops(file: string): string[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { op: string }).op);
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1200 && !check(); i++) await sleep(50);
  assert.ok(check(), 'condition not reached within 60 s');
}

interface Rig {
  wd: WatchdogHandle;
  recordFile: string;
  life: Lifecycle;
  proc: EventEmitter;
  exits: number[];
  released: string[];
}

async function rig(t: { after(fn: () => void): void }, releaseTimeoutMs = 30_000): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-life-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const recordFile = join(dir, 'wd.jsonl');
  const wd = await setupWatchdog({ device: 'recording', timeoutSeconds: 0.3, maxLagMs: 1000, recordFile, recordBootStatus: 0 }, systemClock, silentLogger());
  const exits: number[] = [];
  const life = new Lifecycle({ watchdog: wd, logger: silentLogger(), releaseTimeoutMs, exit: (code) => exits.push(code), exitGraceMs: 0 });
  const proc = new EventEmitter();
  const released: string[] = [];
  life.watch(proc);
  await until(() => wd.stats().pets >= 2);
  return { wd, recordFile, life, proc, exits, released };
}

test('an uncaught exception: pets stop, armed close, release in reverse order, exit 1', async (t) => {
  const r = await rig(t);
  r.life.hold('app', async () => {
    await sleep(10);
    r.released.push('app');
  });
  r.life.hold('ipc', () => void r.released.push('ipc'));
  const fatal = new Promise<unknown>((resolve) => r.life.onFatal(resolve));
  r.proc.emit('uncaughtException', new Error('boom'));
  assert.equal(((await fatal) as Error).message, 'boom');
  await until(() => r.exits.length > 0);
  assert.deepEqual(r.exits, [1]);
  assert.deepEqual(r.released, ['ipc', 'app']);
  const journal = ops(r.recordFile);
  assert.equal(journal.at(-1), 'armed-close');
  assert.equal(journal.includes('magic-close'), false);
  assert.equal(r.wd.status().state, 'closed');
  const petsAtClose = r.wd.stats().pets;
  await sleep(500); // more than a pet interval (100 ms): none may come
  assert.equal(r.wd.stats().pets, petsAtClose, 'no pet after the failure');
  assert.equal(ops(r.recordFile).at(-1), 'armed-close');
});

test('an unhandled rejection fails the same way, once, even if a second error follows', async (t) => {
  const r = await rig(t);
  let releases = 0;
  r.life.hold('app', () => void (releases += 1));
  r.proc.emit('unhandledRejection', 'not an Error');
  r.proc.emit('uncaughtException', new Error('second'));
  await until(() => r.exits.length > 0);
  await sleep(50);
  assert.equal(releases, 1);
  assert.deepEqual(r.exits, [1]);
  assert.equal(ops(r.recordFile).filter((op) => op === 'armed-close').length, 1);
});

test('a release that never ends and one that throws do not keep the process from exiting', async (t) => {
  const r = await rig(t, 200);
  r.life.hold('stuck', () => new Promise<void>(() => undefined));
  r.life.hold('broken', () => {
    throw new Error('cannot release');
  });
  await r.life.fail(new Error('start failed'), 'start');
  await until(() => r.exits.length > 0);
  assert.deepEqual(r.exits, [1]);
  assert.equal(ops(r.recordFile).at(-1), 'armed-close');
});
