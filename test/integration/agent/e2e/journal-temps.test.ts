// A power cut between the create and the rename of a journal write leaves a temp file next to
// the entries (here: the agent killed in `trial`, the leftover put beside its entry): the next
// agent removes it at start and logs it, then finishes the job — activated once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subscribe, waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig } from './rig.ts';

test('a temp file an interrupted journal write left is removed at start; the job ends correctly', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t);
  const client = await rig.supervisor.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const crashing = await rig.startAgent('trial');
  rig.createJob('cut', installDoc(await rig.bundle('1.1.0')));
  assert.equal((await crashing.exited).signal, 'SIGKILL');

  const dir = join(rig.device.paths.agentDir, 'jobs');
  const leftover = '.cut.1.json.tmp-99999-1';
  writeFileSync(join(dir, leftover), '{"schema":1,"jobId":"cut","pha');
  const agent = await rig.startAgent();
  const removed = await agent.waitLog('journal-temps-removed');
  assert.deepEqual(removed['files'], [leftover]);
  const final = await rig.finalOf('cut');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.equal(detailsOf(final)['reason'], 'COMMITTED');
  await waitForVersion(rig.appPort, '1.1.0');
  assert.equal(events.events.filter((e) => e.type === 'trial-started' && e.jobId === 'cut').length, 1, 'activated once');
  assert.ok(!readdirSync(dir).includes(leftover), 'leftover gone');
  assert.ok(readdirSync(dir).includes('cut.1.json'), 'the entry itself kept');
});
