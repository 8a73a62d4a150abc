// A journal file damaged between two agent runs (here: after activation, the agent killed in
// `trial`): the agent starts, quarantines and logs it, finds the job again through describe
// `$next`, adopts the supervisor's trial of it and reports SUCCEEDED — installed once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subscribe, waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig } from './rig.ts';

test('a damaged journal entry is quarantined; the job ends correctly, activated once', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t);
  const client = await rig.supervisor.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const crashing = await rig.startAgent('trial');
  rig.createJob('damaged', installDoc(await rig.bundle('1.1.0')));
  assert.equal((await crashing.exited).signal, 'SIGKILL');

  const dir = join(rig.device.paths.agentDir, 'jobs');
  writeFileSync(join(dir, 'damaged.1.json'), '{"schema":1,"jobId":"damaged","pha');
  const agent = await rig.startAgent();
  const quarantined = await agent.waitLog('journal-quarantined');
  assert.match(String(quarantined['to']), /damaged\.1\.json\.corrupt-\d+$/);
  const final = await rig.finalOf('damaged');
  assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
  assert.equal(detailsOf(final)['reason'], 'COMMITTED');
  await waitForVersion(rig.appPort, '1.1.0');
  assert.equal(events.events.filter((e) => e.type === 'trial-started' && e.jobId === 'damaged').length, 1, 'activated once');
  assert.ok(readdirSync(dir).some((n) => n.startsWith('damaged.1.json.corrupt-')));
});
