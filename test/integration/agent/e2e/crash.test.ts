// SIGKILL of the agent in every phase of the job machine, enumerated from PHASE_KINDS: after a
// restart each job completes correctly, and an install is activated exactly once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PHASE_KINDS, type PhaseKind } from '../../../../agent/jobs/phases.ts';
import { subscribe, waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, type Rig } from './rig.ts';

type Scenario = (rig: Rig, jobId: string, n: number) => Promise<{ doc: object; reason: string; version?: string }>;

const install: Scenario = async (rig, _jobId, n) => {
  const version = `1.${n + 1}.0`;
  return { doc: installDoc(await rig.bundle(version)), reason: 'COMMITTED', version };
};

// Which job passes through each phase; a new phase without a scenario fails to compile.
const SCENARIOS: Record<PhaseKind, Scenario> = {
  received: install,
  downloading: install,
  installing: install,
  activating: install,
  trial: install,
  reporting: install,
  closed: install,
  'rolling-back': () => Promise.resolve({ doc: { twinslot: 1, operation: 'rollback' }, reason: 'COMMITTED' }),
  'restarting-app': () => Promise.resolve({ doc: { twinslot: 1, operation: 'restart-app' }, reason: 'APP_RESTARTED' }),
  rebooting: () => Promise.resolve({ doc: { twinslot: 1, operation: 'reboot' }, reason: 'REBOOTED' }),
};

test('SIGKILL in every job phase: the job completes after a restart, installed once', { timeout: 600_000 }, async (t) => {
  const rig = await startRig(t);
  const client = await rig.supervisor.client();
  t.after(() => client.close());
  const events = await subscribe(client);

  for (const [n, phase] of PHASE_KINDS.entries()) {
    const jobId = `crash-${phase}`;
    const { doc, reason, version } = await SCENARIOS[phase](rig, jobId, n);
    const crashing = await rig.startAgent(phase);
    rig.createJob(jobId, doc);
    const exit = await crashing.exited;
    assert.equal(exit.signal, 'SIGKILL', `${phase}: the agent was killed in the phase`);
    assert.ok(crashing.logs.some((l) => l['event'] === 'crash-injected' && l['phase'] === phase), phase);

    const agent = await rig.startAgent();
    const final = await rig.finalOf(jobId);
    assert.equal(final['status'], 'SUCCEEDED', `${phase}: ${JSON.stringify(final)}`);
    assert.equal(detailsOf(final)['reason'], reason, phase);
    if (version !== undefined) await waitForVersion(rig.appPort, version);
    const trials = events.events.filter((e) => e.type === 'trial-started' && e.jobId === jobId).length;
    const operation = (doc as { operation: string }).operation;
    assert.equal(trials, operation === 'install' || operation === 'rollback' ? 1 : 0, `${phase}: one trial per install or rollback`);
    await agent.kill('SIGTERM');
  }
});
