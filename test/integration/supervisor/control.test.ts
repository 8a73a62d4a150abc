// Control paths: bad IPC requests, SIGTERM, power-fail and power-restored (also during a trial),
// a committed app's crash loop, a damaged state file, `twinslot status`, and the Prometheus
// endpoint.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  committedDevice, freePort, httpGet, install, killRecordedApp, killSupervisor, readJournal, startSupervisor, subscribe, teardown, waitForVersion,
  type Device, type RunningSupervisor,
} from './harness.ts';
import type { SupervisorClient } from '../../../ipc/client.ts';
import type { AgentStatusReport, StatusReport } from '../../../ipc/protocol.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'twinslot.js');
const run = promisify(execFile);

async function rawRequest(path: string, line: string): Promise<Record<string, unknown>> {
  const socket = connect(path);
  await once(socket, 'connect');
  socket.write(`${line}\n`);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return JSON.parse(chunk.toString().split('\n')[0] ?? '') as Record<string, unknown>;
}

test('bad IPC requests get an error and change nothing', { timeout: 60_000 }, async (t) => {
  const { device, port } = committedDevice();
  await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  assert.equal((statSync(device.paths.supervisorSocket).mode & 0o777).toString(8), '660');
  const before = readFileSync(device.paths.state, 'utf8');
  const bad = [
    'not json',
    '[]',
    '{"method":"status"}',
    '{"id":1,"method":"format-disk"}',
    '{"id":2,"method":"activate","params":{"slot":"c","jobId":"j"}}',
    '{"id":3,"method":"activate","params":{"slot":"b","jobId":"bad id!"}}',
    '{"id":4,"method":"activate","params":{"slot":"b","jobId":"j","reboot":"yes"}}',
    '{"id":5,"method":"activate","params":{"slot":"b","jobId":"j","extra":1}}',
    '{"id":6,"method":"slot-ready","params":{}}',
    '{"id":7,"method":"status","params":{"x":1}}',
    '{"id":8,"method":"rollback","params":{"jobId":5}}',
  ];
  for (const line of bad) {
    const res = await rawRequest(device.paths.supervisorSocket, line);
    assert.equal(res.ok, false, line);
    assert.equal((res.error as { code: string }).code, 'BAD_REQUEST', line);
  }
  // Well-formed but not allowed now: refused with their own codes, still no change.
  const client = await sup.client();
  t.after(() => client.close());
  await assert.rejects(client.request('activate', { slot: 'b', jobId: 'j' }), { code: 'SLOT_NOT_READY' });
  await assert.rejects(client.request('activate', { slot: 'a', jobId: 'j' }), { code: 'SLOT_IS_COMMITTED' });
  await assert.rejects(client.request('slot-ready', { slot: 'b' }), { code: 'SLOT_NOT_INSTALLING' });
  await assert.rejects(client.request('rollback', {}), { code: 'NO_PREVIOUS_VERSION' });
  assert.equal(readFileSync(device.paths.state, 'utf8'), before);
});

test('SIGTERM stops the app gracefully, magic-closes the watchdog and exits 0', { timeout: 60_000 }, async (t) => {
  const { device, port } = committedDevice();
  const p = await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(p, '1.0.0');
  await sup.waitLog('health-verdict', (l) => l.state === 'healthy');
  while (!readJournal(device).some((e) => e.op === 'pet')) await sleep(50); // first pet: a third of the 3 s timeout
  sup.child.kill('SIGTERM');
  const exit = await sup.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  const journal = readJournal(device).map((e) => e.op);
  assert.equal(journal[0], 'open');
  assert.equal(journal.at(-1), 'magic-close');
  assert.ok(journal.includes('pet'), 'petted while running');
  assert.equal(await httpGet(p), null, 'the app is stopped');
});

test('SIGKILL leaves the watchdog armed (no magic close)', { timeout: 60_000 }, async (t) => {
  const { device, port } = committedDevice();
  await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await killSupervisor(sup);
  assert.equal(readJournal(device).some((e) => e.op === 'magic-close'), false);
});

/** A supervisor running the committed 1.0.0 app (answering on `p`), with a subscribed client; torn down after the test. */
async function committedAndRunning(t: TestContext): Promise<{ device: Device; p: number; sup: RunningSupervisor; client: SupervisorClient; events: Awaited<ReturnType<typeof subscribe>> }> {
  const { device, port } = committedDevice();
  const p = await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  await waitForVersion(p, '1.0.0');
  return { device, p, sup, client, events };
}

test('twinslot power-fail tells subscribers and stops the app; power-restored starts it again', { timeout: 60_000 }, async (t) => {
  const { device, p, client, events } = await committedAndRunning(t);
  const { stdout } = await run(process.execPath, [BIN, 'power-fail', '--root', device.root, '--json', 'UPS ups@localhost on battery']);
  assert.deepEqual(JSON.parse(stdout), { stopped: true });
  assert.equal((await events.next('power-fail')).type, 'power-fail');
  assert.equal(await httpGet(p), null);
  assert.equal((await client.request('status')).powerFail, true);

  // Mains back before the batteries ran out: the committed app starts again, once.
  const restored = await run(process.execPath, [BIN, 'power-restored', '--root', device.root, '--json', 'UPS ups@localhost on line power']);
  assert.deepEqual(JSON.parse(restored.stdout), { restarted: true });
  assert.equal((await events.next('power-restored')).type, 'power-restored');
  await waitForVersion(p, '1.0.0');
  const status = await client.request('status');
  assert.equal(status.powerFail, false);
  const pid = status.app?.pid;
  assert.ok(typeof pid === 'number');
  const again = await run(process.execPath, [BIN, 'power-restored', '--root', device.root]);
  assert.equal(again.stdout, 'power-restored sent; nothing to start\n');
  assert.equal((await client.request('status')).app?.pid, pid, 'a second power-restored leaves the running app alone');

  // restart-app after a power-fail counts as power-restored, for the agent too.
  await run(process.execPath, [BIN, 'power-fail', '--root', device.root]);
  await events.next('power-fail');
  assert.deepEqual(await client.request('restart-app'), { restarted: true });
  await events.next('power-restored');
  assert.equal((await client.request('status')).powerFail, false);
});

test('a power-fail during a trial freezes it: no verdict while the app is stopped; power-restored continues it', { timeout: 90_000 }, async (t) => {
  const { device, p, sup, client, events } = await committedAndRunning(t);
  const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '2.0.0', port: p, health: { startTimeoutSeconds: 2, probationSeconds: 2 } });
  await client.request('activate', { slot, jobId: 'trial-in-outage' });
  await waitForVersion(p, '2.0.0');
  await sup.waitLog('probation-started');
  await run(process.execPath, [BIN, 'power-fail', '--root', device.root]);
  await events.next('power-fail');

  await sleep(4000); // past the probation and the start timeout, had either stayed armed
  const during = await client.request('status');
  assert.deepEqual(events.events.filter((e) => e.type === 'committed' || e.type === 'rolled-back'), []);
  assert.equal(during.trial?.slot, slot, 'the trial is still open');
  assert.equal(during.app, null);
  assert.equal(await httpGet(p), null);

  const { stdout } = await run(process.execPath, [BIN, 'power-restored', '--root', device.root, '--json']);
  assert.deepEqual(JSON.parse(stdout), { restarted: true });
  const committed = await events.next('committed');
  assert.deepEqual([committed.slot, committed.version, committed.jobId], [slot, '2.0.0', 'trial-in-outage']);
  await waitForVersion(p, '2.0.0');
});

test('a committed app in a crash loop backs off and is reported; no rollback, no reboot', { timeout: 90_000 }, async (t) => {
  const { device, port } = committedDevice({}, 'crash-after.mjs', { CRASH_AFTER_MS: '50' });
  await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const events = await subscribe(client);
  const loop = await events.next('crash-loop');
  assert.equal(loop.slot, 'a');
  const delays = sup.logs.filter((l) => l.event === 'app-restart-scheduled').map((l) => l.delayMs as number);
  const status = await client.request('status');
  assert.equal(status.committed, 'a');
  assert.equal(status.trial, null);
  assert.equal(status.lastOutcome, null);
  assert.ok((status.counters?.crashes ?? 0) >= 4, `crashes ${status.counters?.crashes}`);
  assert.ok((status.counters?.crashLoops ?? 0) >= 1);
  assert.equal(events.events.some((e) => e.type === 'rolled-back'), false);
  assert.equal(sup.logs.some((l) => l.event === 'reboot-requested'), false);
  assert.ok(delays.length >= 2 && (delays[1] ?? 0) > (delays[0] ?? 0), `the backoff grows: ${delays.join(', ')}`);
});

test('a damaged state.json is recovered from its copy; with both damaged, current stays committed', { timeout: 60_000 }, async (t) => {
  const { device, port } = committedDevice();
  const p = await port;
  writeFileSync(device.paths.state, '\u0000\u0000garbage');
  let sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await sup.waitLog('state-recovered', (l) => l.from === 'backup');
  await waitForVersion(p, '1.0.0');
  await killSupervisor(sup);
  killRecordedApp(device);
  writeFileSync(device.paths.state, '');
  writeFileSync(device.paths.stateBackup, '{"schema":42}');
  sup = await startSupervisor(device);
  await sup.waitLog('state-recovered', (l) => l.from === 'default');
  await waitForVersion(p, '1.0.0');
  const client = await sup.client();
  t.after(() => client.close());
  const status = await client.request('status');
  assert.equal(status.committed, 'a');
  assert.equal(status.stateSource, 'default');
  assert.equal(status.slots.a.status === 'ready' && status.slots.a.version, '1.0.0');
});

test('twinslot status shows the live report with the agent section, and metrics are served', { timeout: 60_000 }, async (t) => {
  const metricsPort = await freePort();
  const { device, port } = committedDevice({ supervisor: { metricsPort } });
  const p = await port;
  mkdirSync(device.paths.agentDir, { recursive: true });
  // The file is for the CLI alone: the running supervisor shows what the agent pushed.
  writeFileSync(device.paths.agentStatus, JSON.stringify(agentReport('from-file')));
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  await waitForVersion(p, '1.0.0');
  const client = await sup.client();
  t.after(() => client.close());
  assert.equal((await client.request('status')).agent, undefined, 'nothing pushed yet');
  assert.deepEqual(await client.request('agent-status', agentReport('pushed')), { received: true });
  const { stdout } = await run(process.execPath, [BIN, 'status', '--root', device.root, '--json']);
  const report = JSON.parse(stdout) as { running: boolean; committed: string; agent: StatusReport['agent']; watchdog: { state: string; timeoutSeconds: number }; app: { pid: number } };
  assert.equal(report.running, true);
  assert.equal(report.committed, 'a');
  assert.equal(report.agent?.thingName, 'pushed');
  assert.equal(report.agent.source, 'supervisor');
  assert.equal(report.agent.connection.state, 'connected');
  assert.ok(report.agent.ageMs >= 0 && report.agent.receivedAt > 0);
  assert.equal(report.watchdog.state, 'active');
  assert.equal(report.watchdog.timeoutSeconds, 3);
  assert.ok(report.app.pid > 0);
  const text = (await run(process.execPath, [BIN, 'status', '--root', device.root])).stdout;
  assert.match(text, /slot a\s+ready\s+1\.0\.0\s+\[committed, current\]/);
  assert.match(text, /^agent\s+connected, idle \(pid 4242, reported \d+ s ago\)$/m);
  const metrics = await httpGet(metricsPort, '/metrics');
  assert.match(metrics ?? '', /^twinslot_trials_total 0$/m);
  assert.match(metrics ?? '', /^twinslot_app_up 1$/m);
  // With the supervisor down, status reads the files.
  await killSupervisor(sup);
  const offline = JSON.parse((await run(process.execPath, [BIN, 'status', '--root', device.root, '--json'])).stdout) as { running: boolean; committed: string; agent: StatusReport['agent'] };
  assert.equal(offline.running, false);
  assert.equal(offline.committed, 'a');
  assert.equal(offline.agent?.thingName, 'from-file');
  assert.equal(offline.agent.source, 'file');
});

/** A well-formed `agent-status` report. */
function agentReport(thingName: string): AgentStatusReport {
  return {
    pid: 4242, updatedAt: new Date().toISOString(), thingName, clientId: thingName, job: null,
    connection: { state: 'connected', connects: 1, rejoinedSessions: 0, disconnects: {}, connectFailures: 0, authFailures: 0, failovers: 0, lastReconnectDelayMs: 0, reconnectDelayTotalMs: 0 },
  };
}

test('as root: the socket gets its group, a prepared slot belongs to the agent user; SIGHUP reloads the config', { timeout: 60_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root');
    return;
  }
  const { device, port } = committedDevice({ supervisor: { socketGroup: 'daemon', agentUser: 'nobody' } });
  await port;
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const daemonGid = Number((await run('getent', ['group', 'daemon'])).stdout.split(':')[2]);
  const nobodyUid = Number((await run('getent', ['passwd', 'nobody'])).stdout.split(':')[2]);
  assert.equal(statSync(device.paths.supervisorSocket).gid, daemonGid);
  const client = await sup.client();
  t.after(() => client.close());
  const { slot, path } = await client.request('prepare-slot');
  assert.equal(slot, 'b');
  assert.equal(statSync(path).uid, nobodyUid);
  assert.equal((await client.request('status')).slots.b.status, 'installing');
  sup.child.kill('SIGHUP');
  await sup.waitLog('config-reloaded');
  assert.equal(sup.child.exitCode, null, 'SIGHUP does not stop the supervisor');
});
