// The device's own messages and status, end to end: a trial outcome event through the outbox,
// the running job in `twinslot status --json`, a reboot job that waits for a supervisor that is
// down and then asks it, a power-fail notice while the link is down → the retained
// `power-fail` status seen by another subscriber once the broker is back, then power-restored →
// online again and the job that waited runs, in the same agent process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusFilePath } from '../../../../agent/status-file.ts';
import { eventsTopic, statusTopic } from '../../../../agent/connection/topics.ts';
import { startSupervisor } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, THING, waitFor } from './rig.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', '..', 'bin', 'twinslot.js');
const twinslot = (root: string, ...args: string[]): string => execFileSync(process.execPath, [BIN, ...args, '--root', root], { encoding: 'utf8' });

test('trial outcome event, current job in status, reboot through the supervisor, power-fail status', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t, { agent: { metrics: { statusIntervalMs: 100 } } });
  const agent = await rig.startAgent();
  const events = await rig.observe(eventsTopic(THING));

  rig.createJob('ev-1', installDoc(await rig.bundle('1.1.0')));
  assert.equal((await rig.finalOf('ev-1'))['status'], 'SUCCEEDED');
  const outcome = await waitFor('trial outcome event', () => events.messages(eventsTopic(THING)).map((m) => JSON.parse(m) as Record<string, unknown>)[0]);
  assert.deepEqual([outcome['eventId'], outcome['outcome'], outcome['version'], outcome['operation']], ['ev-1.1.trial-outcome', 'committed', '1.1.0', 'install']);

  // The running supervisor shows the status the agent pushed to it (it reads no file of the agent's).
  const pushed = await waitFor('the agent\'s pushed status in the supervisor\'s report', () => {
    const s = JSON.parse(twinslot(rig.device.root, 'status', '--json')) as { agent?: { source: string; thingName: string; connection: { state: string } } };
    return s.agent?.source === 'supervisor' ? s.agent : undefined;
  });
  assert.equal(pushed.thingName, THING);
  assert.equal(pushed.connection.state, 'connected');

  // Supervisor down: the reboot job waits in `rebooting`, which `twinslot status --json` shows.
  rig.supervisor.child.kill('SIGTERM');
  await rig.supervisor.exited;
  rig.createJob('ev-reboot', { twinslot: 1, operation: 'reboot' });
  await waitFor('job in the status file', () => {
    try {
      const st = JSON.parse(readFileSync(statusFilePath(rig.device.paths.agentDir), 'utf8')) as { job?: { phase?: string } | null };
      return st.job?.phase === 'rebooting' ? true : undefined;
    } catch {
      return undefined; // not written yet
    }
  });
  const status = JSON.parse(twinslot(rig.device.root, 'status', '--json')) as { agent: { job: Record<string, unknown> } };
  assert.equal(status.agent.job['jobId'], 'ev-reboot');
  assert.equal(status.agent.job['operation'], 'reboot');
  assert.equal(status.agent.job['phase'], 'rebooting');
  rig.supervisor = await startSupervisor(rig.device);
  const rebooted = await rig.finalOf('ev-reboot');
  assert.equal(detailsOf(rebooted)['reason'], 'REBOOTED', JSON.stringify(rebooted));

  // Power fails while the link is down; the status is delivered once the broker is back.
  await agent.waitLog('connect');
  await rig.stopEmulator();
  twinslot(rig.device.root, 'power-fail');
  await agent.waitLog('jobs-stopped', (l) => l['why'] === 'power-fail');
  await rig.startEmulatorAgain();
  const watcher = await rig.observe(statusTopic(THING));
  const statuses = (): Array<Record<string, unknown>> => watcher.messages(statusTopic(THING)).map((m) => JSON.parse(m) as Record<string, unknown>);
  const last = await waitFor('power-fail status', () => statuses().find((m) => m['state'] === 'power-fail'));
  assert.equal(last['thingName'], THING);
  rig.createJob('ev-held', installDoc(await rig.bundle('1.2.0')));

  // Mains back without a shutdown: the app runs again, the agent goes back online and takes the
  // job that waited, without a restart.
  assert.match(twinslot(rig.device.root, 'power-restored'), /app started/);
  await agent.waitLog('jobs-resumed', (l) => l['why'] === 'power-restored');
  await waitFor('online status after the power-fail one', () => {
    const states = statuses().map((m) => m['state']);
    return states.lastIndexOf('online') > states.indexOf('power-fail') ? true : undefined;
  });
  const held = await rig.finalOf('ev-held');
  assert.equal(held['status'], 'SUCCEEDED', JSON.stringify(held));
  assert.equal(agent.logs.filter((l) => l['event'] === 'agent-starting').length, 1, 'the same agent process');
  const statusFile = JSON.parse(readFileSync(statusFilePath(rig.device.paths.agentDir), 'utf8')) as { powerFailAt?: number };
  assert.equal(statusFile.powerFailAt, undefined);

  // Power fails again, and the supervisor restarts before any power-restored (its notice state
  // is gone, the app runs again): the agent reads that from its status when it subscribes anew.
  twinslot(rig.device.root, 'power-fail');
  await agent.waitLog('jobs-stopped', (l) => l['why'] === 'power-fail' && agent.logs.filter((x) => x['event'] === 'jobs-stopped').length === 2);
  rig.supervisor.child.kill('SIGTERM');
  await rig.supervisor.exited;
  rig.supervisor = await startSupervisor(rig.device);
  await agent.waitLog('jobs-resumed', (l) => l['why'] === 'supervisor-not-power-failing');
});
