// A writer flipping `current` and rewriting state.json is SIGKILLed at random moments; after
// every kill the state parses and `current` names the committed or the trial slot of that state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { devicePaths } from '../../../slots/paths.ts';
import { SlotStore } from '../../../slots/store.ts';
import { initialState } from '../../../slots/state.ts';
import { silentLogger } from '../../../common/log.ts';

const KILLS = 520;
const WORKERS = 2;
const writer = join(import.meta.dirname, 'crash-writer.ts');

async function killOnce(root: string): Promise<void> {
  const child = spawn(process.execPath, [writer, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  await sleep(Math.random() * 12);
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function worker(count: number, tally: { kills: number; trials: number }): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-crash-'));
  try {
    const paths = devicePaths(root);
    mkdirSync(paths.slot('a'), { recursive: true });
    mkdirSync(paths.slot('b'), { recursive: true });
    const store = new SlotStore(paths, silentLogger());
    const start = initialState('a');
    store.save(start);
    store.flipCurrent('a');
    for (let i = 0; i < count; i++) {
      await killOnce(root);
      const loaded = store.load();
      assert.equal(loaded.source, 'state', `kill ${i}: state.json must parse (${loaded.problem ?? ''})`);
      const allowed = [loaded.state.committed, loaded.state.trial?.slot].filter((s) => s != null);
      const current = store.readCurrent();
      assert.ok(current !== null && allowed.includes(current), `kill ${i}: current=${current} not in ${allowed.join(',')}`);
      tally.kills += 1;
      if (loaded.state.trial) tally.trials += 1;
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test(`state and current stay consistent across ${KILLS} SIGKILLs`, { timeout: 240_000 }, async () => {
  const tally = { kills: 0, trials: 0 };
  await Promise.all(Array.from({ length: WORKERS }, () => worker(KILLS / WORKERS, tally)));
  assert.equal(tally.kills, KILLS);
  // The kills landed in both phases: with and without a trial persisted.
  assert.ok(tally.trials > 0 && tally.trials < KILLS, `trials seen: ${tally.trials}`);
});
