// What a power cut or outside damage can leave in the job journal between two agent runs (here:
// after activation, the agent killed in `trial`). A damaged entry is quarantined and the job found
// again through describe `$next`; a temp file of an interrupted write is removed. Either way the
// agent adopts the supervisor's trial and reports SUCCEEDED — installed once.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subscribe, waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, type AgentProcess } from './rig.ts';

/** Job `jobId` activated and the agent SIGKILLed in `trial`; `damage` edits the journal dir, then a new agent starts. */
async function afterCrashInTrial(t: TestContext, jobId: string, damage: (dir: string) => void): Promise<{ agent: AgentProcess; dir: string; finish: () => Promise<void> }> {
  const rig = await startRig(t);
  const client = await rig.supervisor.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const crashing = await rig.startAgent('trial');
  rig.createJob(jobId, installDoc(await rig.bundle('1.1.0')));
  assert.equal((await crashing.exited).signal, 'SIGKILL');
  const dir = join(rig.device.paths.agentDir, 'jobs');
  damage(dir);
  const agent = await rig.startAgent();
  // The job ends SUCCEEDED/COMMITTED on 1.1.0, activated once.
  const finish = async (): Promise<void> => {
    const final = await rig.finalOf(jobId);
    assert.equal(final['status'], 'SUCCEEDED', JSON.stringify(final));
    assert.equal(detailsOf(final)['reason'], 'COMMITTED');
    await waitForVersion(rig.appPort, '1.1.0');
    assert.equal(events.events.filter((e) => e.type === 'trial-started' && e.jobId === jobId).length, 1, 'activated once');
  };
  return { agent, dir, finish };
}

test('a damaged journal entry is quarantined; the job ends correctly, activated once', { timeout: 300_000 }, async (t) => {
  const { agent, dir, finish } = await afterCrashInTrial(t, 'damaged', (d) => writeFileSync(join(d, 'damaged.1.json'), '{"schema":1,"jobId":"damaged","pha'));
  const quarantined = await agent.waitLog('journal-quarantined');
  assert.match(String(quarantined['to']), /damaged\.1\.json\.corrupt-\d+$/);
  await finish();
  assert.ok(readdirSync(dir).some((n) => n.startsWith('damaged.1.json.corrupt-')));
});

test('a temp file an interrupted journal write left is removed at start; the job ends correctly', { timeout: 300_000 }, async (t) => {
  const leftover = '.cut.1.json.tmp-99999-1';
  const { agent, dir, finish } = await afterCrashInTrial(t, 'cut', (d) => writeFileSync(join(d, leftover), '{"schema":1,"jobId":"cut","pha'));
  const removed = await agent.waitLog('journal-temps-removed');
  assert.deepEqual(removed['files'], [leftover]);
  await finish();
  assert.ok(!readdirSync(dir).includes(leftover), 'leftover gone');
  assert.ok(readdirSync(dir).includes('cut.1.json'), 'the entry itself kept');
});
