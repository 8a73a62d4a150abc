// Child for the crash test: flips `current` and rewrites state.json in a loop, through every
// kind of move the supervisor makes, until it is killed. argv[2]: device root.

import { devicePaths } from '../../../slots/paths.ts';
import { SlotStore } from '../../../slots/store.ts';
import { beginRollback, beginTrial, commit, finishRollback, prepare, ready } from '../../../slots/transitions.ts';
import type { Logger } from '../../../common/log.ts';

const root = process.argv[2];
if (!root) throw new Error('usage: crash-writer.ts ROOT');
// No pino here: the child starts 500+ times and must start fast; it never logs.
const quiet = { warn: () => undefined, error: () => undefined } as unknown as Logger;
const store = new SlotStore(devicePaths(root), quiet);
let { state } = store.load();
let announced = false;
let n = 0;

for (;;) {
  n += 1;
  const trial = state.trial;
  if (!trial) {
    const prepared = prepare(state, n);
    state = store.save(ready(prepared.state, prepared.slot, `1.0.${n}`, 'f'.repeat(64)));
    state = store.save(beginTrial(state, { slot: prepared.slot, jobId: `job-${n}`, kind: 'update', attempts: 3, bootId: 'boot', now: n, reboot: false }));
    store.flipCurrent(prepared.slot);
  } else if (n % 2 === 0) {
    state = store.save(commit(state, n));
  } else {
    state = store.save(beginRollback(state, 'HEALTH_HTTP_FAILED', 'crash test'));
    if (state.committed) store.flipCurrent(state.committed);
    state = store.save(finishRollback(state, n));
  }
  if (!announced) {
    announced = true;
    process.stdout.write('ready\n');
  }
}
