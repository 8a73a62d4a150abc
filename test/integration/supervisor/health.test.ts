// The health monitor against real fixture apps: each probe kind healthy and failing, the start
// timeout, app exits and crash loops; notify messages sent before the monitor starts.

import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HealthSpec } from '../../../bundle/manifest-types.ts';
import type { AppRunner, AppSpec, HealthMonitor, HealthVerdict } from '../../../supervisor/ports.ts';
import { createHealthMonitor } from '../../../supervisor/health/index.ts';
import { createAppRunner, type AppRunnerOptions } from '../../../supervisor/runner/index.ts';
import { captureLog, DEADLINE_MS, fixtureSpec, freePort, nextEvent, type CapturedLog } from '../../fixtures/apps/harness.ts';

const FAST = { intervalMs: 50, timeoutMs: 1_000, failureThreshold: 3 };

interface Rig {
  runner: AppRunner;
  monitor: HealthMonitor;
  log: CapturedLog;
  root: string;
  notifySocket: string;
  /** Prepares the monitor, starts the app, then the monitor (the order the supervisor uses). */
  run(app: AppSpec, health: HealthSpec): Promise<void>;
}

function rig(runnerOptions: Partial<AppRunnerOptions> = {}): Rig {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-health-'));
  const log = captureLog();
  const notifySocket = join(root, 'notify.sock');
  const runner = createAppRunner({
    logger: log.logger,
    stopTimeoutMs: 2_000,
    backoff: { initialMs: 50, factor: 1.5, maxMs: 200, stableMs: 60_000 },
    crashLoop: { restarts: 5, windowMs: 60_000 },
    ...runnerOptions,
  });
  const monitor = createHealthMonitor({ logger: log.logger, runner, notifySocketPath: notifySocket, cwd: root });
  after(async () => {
    monitor.stop();
    await runner.stop();
    monitor.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    runner, monitor, log, root, notifySocket,
    async run(app, health) {
      await monitor.prepare(health);
      await runner.start(app);
      monitor.start(health, Date.now());
    },
  };
}

/** Resolves with the verdict once the monitor reaches `state` (now or later). */
function verdictOf<S extends HealthVerdict['state']>(monitor: HealthMonitor, state: S): Promise<Extract<HealthVerdict, { state: S }>> {
  return new Promise((resolve, reject) => {
    const current = monitor.verdict();
    if (current.state === state) return resolve(current as Extract<HealthVerdict, { state: S }>);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`verdict ${state} not reached; still ${JSON.stringify(monitor.verdict())}`));
    }, DEADLINE_MS);
    const off = monitor.on((v) => {
      if (v.state !== state) return;
      clearTimeout(timer);
      off();
      resolve(v as Extract<HealthVerdict, { state: S }>);
    });
  });
}

async function httpApp(file: string, env: Record<string, string> = {}): Promise<{ spec: AppSpec; url: string }> {
  const port = await freePort();
  return { spec: fixtureSpec(file, { PORT: String(port), ...env }), url: `http://127.0.0.1:${port}/health` };
}

describe('health monitor: HTTP probe', () => {
  it('is starting, then healthy once /health answers 2xx', async () => {
    const r = rig();
    const { spec, url } = await httpApp('healthy-http.mjs');
    await r.run(spec, { http: { url, ...FAST } });
    const healthy = await verdictOf(r.monitor, 'healthy');
    assert.equal(typeof healthy.since, 'number');
  });

  it('fails with HEALTH_START_TIMEOUT when /health never answers 2xx', async () => {
    const r = rig();
    const { spec, url } = await httpApp('never-ready.mjs');
    await r.run(spec, { startTimeoutSeconds: 1, http: { url, ...FAST } });
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'HEALTH_START_TIMEOUT');
  });

  it('fails with HEALTH_START_TIMEOUT for an app slower than the start timeout, passes with a longer one', async () => {
    const slow = rig();
    const a = await httpApp('slow-start.mjs', { START_DELAY_MS: '1500' });
    await slow.run(a.spec, { startTimeoutSeconds: 0.5, http: { url: a.url, ...FAST } });
    assert.equal((await verdictOf(slow.monitor, 'unhealthy')).code, 'HEALTH_START_TIMEOUT');

    const patient = rig();
    const b = await httpApp('slow-start.mjs', { START_DELAY_MS: '500' });
    await patient.run(b.spec, { startTimeoutSeconds: 60, http: { url: b.url, ...FAST } });
    assert.equal(patient.monitor.verdict().state, 'starting');
    await verdictOf(patient.monitor, 'healthy');
  });

  it('turns unhealthy with HEALTH_HTTP_FAILED after the failure threshold once healthy', async () => {
    const r = rig();
    const { spec, url } = await httpApp('healthy-then-unhealthy.mjs', { UNHEALTHY_AFTER_MS: '700' });
    await r.run(spec, { http: { url, ...FAST } });
    await verdictOf(r.monitor, 'healthy');
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'HEALTH_HTTP_FAILED');
    assert.match(verdict.reason, /3 consecutive http probe failures: HTTP 500/);
  });
});

describe('health monitor: command probe', () => {
  it('is healthy while the command exits 0 and fails with HEALTH_COMMAND_FAILED when it stops doing so', async () => {
    const r = rig();
    writeFileSync(join(r.root, 'ok'), '');
    await r.run(fixtureSpec('healthy-http.mjs', { PORT: '0' }), { command: { argv: ['sh', '-c', 'test -e ok'], ...FAST } });
    await verdictOf(r.monitor, 'healthy');
    rmSync(join(r.root, 'ok'));
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'HEALTH_COMMAND_FAILED');
    assert.match(verdict.reason, /exit code 1/);
  });

  it('counts a command that outlives its timeout as failed, never as healthy', async () => {
    const r = rig();
    await r.run(fixtureSpec('healthy-http.mjs', { PORT: '0' }), { startTimeoutSeconds: 1, command: { argv: ['sleep', '30'], intervalMs: 50, timeoutMs: 100 } });
    assert.equal((await verdictOf(r.monitor, 'unhealthy')).code, 'HEALTH_START_TIMEOUT');
    const failed = await r.log.waitFor((l) => l['event'] === 'health-probe-failed' && l['probe'] === 'command');
    assert.match(String(failed['reason']), /did not finish within 100 ms/);
  });
});

describe('health monitor: notify protocol', () => {
  it('is healthy after READY=1 and logs STATUS=', async () => {
    const r = rig();
    await r.run({ ...fixtureSpec('notify-app.mjs'), env: { NOTIFY_SOCKET: r.notifySocket } }, { notify: { watchdogSec: 2 } });
    await verdictOf(r.monitor, 'healthy');
    const status = await r.log.waitFor((l) => l['event'] === 'app-status');
    assert.equal(status['status'], 'serving');
  });

  it('fails with HEALTH_NOTIFY_TIMEOUT when WATCHDOG=1 stops', async () => {
    const r = rig();
    const env = { NOTIFY_SOCKET: r.notifySocket, NOTIFY_WATCHDOG_MS: '100', NOTIFY_STOP_HEARTBEAT_AFTER_MS: '400' };
    await r.run({ ...fixtureSpec('notify-app.mjs'), env }, { notify: { watchdogSec: 0.5 } });
    await verdictOf(r.monitor, 'healthy');
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'HEALTH_NOTIFY_TIMEOUT');
    assert.match(verdict.reason, /no WATCHDOG=1/);
  });

  it('fails with HEALTH_START_TIMEOUT when READY=1 never comes', async () => {
    const r = rig();
    await r.run({ ...fixtureSpec('notify-app.mjs'), env: { NOTIFY_SOCKET: r.notifySocket, NOTIFY_NO_READY: '1' } }, { startTimeoutSeconds: 1, notify: {} });
    assert.equal((await verdictOf(r.monitor, 'unhealthy')).code, 'HEALTH_START_TIMEOUT');
  });
});

describe('health monitor: notify messages sent before start()', () => {
  const readyLine = (l: Record<string, unknown>): boolean => String(l['line']).startsWith('notify "READY=1');

  it('is healthy from a READY=1 the app sent once, at once, well before the monitor started', async () => {
    const r = rig();
    const health: HealthSpec = { notify: {} };
    const env = { NOTIFY_SOCKET: r.notifySocket, NOTIFY_STOP_HEARTBEAT_AFTER_MS: '0' };
    await r.monitor.prepare(health);
    const started = nextEvent(r.runner, 'started');
    await r.runner.start({ ...fixtureSpec('notify-app.mjs'), env });
    const ready = await r.log.waitFor(readyLine);
    // The socket existed when the app sent it: the datagram was delivered, not refused.
    assert.match(String(ready['line']), /-> sent$/);
    await sleep(500); // a loaded supervisor reacting late to the start
    r.monitor.start(health, (await started).at);
    await verdictOf(r.monitor, 'healthy');
    const notices = r.log.lines.filter((l) => typeof l['line'] === 'string' && String(l['line']).startsWith('notify '));
    assert.deepEqual(notices.map((l) => l['line']), [ready['line']], 'READY=1 was the only message');
  });

  it('never credits a READY=1 of an exited instance to the next one', async () => {
    const r = rig();
    const health: HealthSpec = { startTimeoutSeconds: 1, notify: {} };
    const once = join(r.root, 'once');
    const env = { NOTIFY_SOCKET: r.notifySocket, NOTIFY_ONCE_FILE: once, NOTIFY_STOP_HEARTBEAT_AFTER_MS: '0' };
    await r.monitor.prepare(health);
    const first = nextEvent(r.runner, 'exited');
    let starts = 0;
    const second = nextEvent(r.runner, 'started', () => ++starts === 2);
    await r.runner.start({ ...fixtureSpec('notify-app.mjs'), env });
    assert.match(String((await r.log.waitFor(readyLine))['line']), /-> sent$/);
    assert.equal((await first).code, 1);
    r.monitor.start(health, (await second).at);
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'HEALTH_START_TIMEOUT');
    assert.equal(r.log.lines.filter(readyLine).length, 1, 'only the first instance sent READY=1');
  });

  it('keeps the socket bound across restarts of the app', async () => {
    const r = rig();
    const health: HealthSpec = { notify: { watchdogSec: 2 } };
    await r.monitor.prepare(health);
    await r.runner.start({ ...fixtureSpec('notify-app.mjs'), env: { NOTIFY_SOCKET: r.notifySocket } });
    r.monitor.start(health, Date.now());
    await verdictOf(r.monitor, 'healthy');
    const restarted = nextEvent(r.runner, 'started');
    const pid = r.runner.status().pid;
    assert.ok(pid !== null);
    process.kill(pid, 'SIGKILL');
    assert.equal((await verdictOf(r.monitor, 'unhealthy')).code, 'APP_EXITED');
    assert.ok(existsSync(r.notifySocket), 'the socket outlives the instance');
    r.monitor.start(health, (await restarted).at);
    await verdictOf(r.monitor, 'healthy');
    r.monitor.close();
    assert.equal(existsSync(r.notifySocket), false, 'close() removes the socket');
  });
});

describe('health monitor: liveness', () => {
  it('is healthy while the process runs and fails with APP_EXITED when it dies', async () => {
    const r = rig();
    await r.run(fixtureSpec('healthy-http.mjs', { PORT: '0' }), {});
    await verdictOf(r.monitor, 'healthy');
    const pid = r.runner.status().pid;
    assert.ok(pid !== null);
    process.kill(pid, 'SIGKILL');
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'APP_EXITED');
    assert.match(verdict.reason, /SIGKILL/);
  });

  it('fails with APP_CRASH_LOOP when the app exits into a crash loop', async () => {
    const r = rig({ crashLoop: { restarts: 3, windowMs: 60_000 } });
    const secondRestart = nextEvent(r.runner, 'restart-scheduled', (e) => e.restarts === 2);
    await r.runner.start(fixtureSpec('crash-after.mjs', { CRASH_AFTER_MS: '300' }));
    await secondRestart;
    const started = await nextEvent(r.runner, 'started');
    r.monitor.start({}, started.at);
    const verdict = await verdictOf(r.monitor, 'unhealthy');
    assert.equal(verdict.code, 'APP_CRASH_LOOP');
  });
});
