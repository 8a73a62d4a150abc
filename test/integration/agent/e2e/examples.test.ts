// Every document in jobs-documents/examples, carried out end to end on one device against the
// emulator and a real supervisor (install bundles swapped in for the examples' S3 objects).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, startRig } from './rig.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', '..', 'jobs-documents', 'examples');
const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as Record<string, unknown>;

test('every example job document runs end to end', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t, { deviceType: 'rpi4' });
  const config = JSON.parse(readFileSync(rig.device.configPath, 'utf8')) as { agent: { update: Record<string, unknown> }; supervisor: Record<string, unknown> };
  // The agent's own reboot command is deprecated and ignored: a reboot job asks the supervisor.
  const agentReboot = join(rig.dir, 'agent-rebooted');
  config.agent.update['rebootCommand'] = ['touch', agentReboot];
  // install-health.json's HTTP probe: the device lets job documents probe the app's port.
  config.supervisor['jobHttpProbePorts'] = [rig.appPort];
  writeFileSync(rig.device.configPath, JSON.stringify(config));
  rig.supervisor.child.kill('SIGHUP');
  await rig.supervisor.waitLog('config-reloaded');
  await rig.startAgent();

  const run = async (jobId: string, doc: Record<string, unknown>): Promise<Record<string, string>> => {
    rig.createJob(jobId, doc);
    const final = await rig.finalOf(jobId);
    assert.equal(final['status'], 'SUCCEEDED', `${jobId}: ${JSON.stringify(final)}`);
    return detailsOf(final);
  };
  const install = async (name: string): Promise<string> => {
    const doc = example(name);
    // The example's probe points at its own app's port (here the fixture app's), and its
    // two minutes of probation are cut to one second.
    const health = doc['health'] as { http?: { url: string }; probationSeconds?: number } | undefined;
    if (health?.http) health.http.url = `http://127.0.0.1:${rig.appPort}/health`;
    if (health?.probationSeconds !== undefined) health.probationSeconds = 1;
    const version = String(doc['version']);
    const b = await rig.bundle(version, { name: `demo-${version}.tar` });
    const details = await run(name.replace('.json', ''), { ...doc, app: 'fixture', bundle: { url: b.url, sha256: b.sha256, size: b.size } });
    assert.equal(details['reason'], 'COMMITTED');
    await waitForVersion(rig.appPort, version);
    return version;
  };

  const report = await run('report', example('report.json'));
  assert.equal(report['reason'], 'REPORTED');
  assert.equal(report['slotA'], 'ready:1.0.0');
  assert.equal(report['committed'], 'a');

  await install('install.json');
  const rc = await install('install-health.json');
  await install('install-downgrade.json');

  const rolled = await run('rollback', example('rollback.json'));
  assert.equal(rolled['reason'], 'COMMITTED');
  await waitForVersion(rig.appPort, rc);

  assert.equal((await run('restart-app', example('restart-app.json')))['reason'], 'APP_RESTARTED');
  const rebooted = await run('reboot', example('reboot.json'));
  assert.equal(rebooted['reason'], 'REBOOTED');
  assert.match(rebooted['bootId'] ?? '', /^boot-\d+$/);
  assert.notEqual(rebooted['bootId'], 'boot-1');
  assert.ok(rig.supervisor.logs.some((l) => l['event'] === 'reboot-request-received' && l['jobId'] === 'reboot'), 'the supervisor was asked');
  assert.equal(existsSync(agentReboot), false, 'the agent ran no reboot command itself');
});
