// The app runner with real processes: start, output, restart backoff, crash loops, stop. The
// suite runs once with the process-group containment and once with a cgroup per instance where
// this machine allows it (runner-containment.test.ts has the escape tests).

import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AppRunner, AppRunnerEvent } from '../../../supervisor/ports.ts';
import { Containment, createAppRunner, type AppRunnerOptions } from '../../../supervisor/runner/index.ts';
import { captureLog, fixtureSpec, nextEvent, type CapturedLog } from '../../fixtures/apps/harness.ts';
import { cgroupSkipReason, makeTestCgroup } from '../../fixtures/apps/test-cgroup.ts';

const QUIET = { backoff: { initialMs: 20, factor: 1.5, maxMs: 100, stableMs: 60_000 }, crashLoop: { restarts: 4, windowMs: 60_000 } };

const CONTAINMENTS = [
  { mode: 'process-group', skip: false },
  { mode: 'cgroup', skip: cgroupSkipReason() },
] as const;
let mode: (typeof CONTAINMENTS)[number]['mode'] = 'process-group';

function makeRunner(overrides: Partial<AppRunnerOptions> = {}): { runner: AppRunner; log: CapturedLog } {
  const log = captureLog();
  const cgroup = mode === 'cgroup' ? makeTestCgroup('runner') : null;
  const containment = cgroup === null ? Containment.processGroup(log.logger) : Containment.detect({ logger: log.logger, limits: { memoryMax: null, cpuWeight: null }, protectedUids: [], cgroupBase: cgroup.dir });
  assert.equal(containment.mode, mode);
  const runner = createAppRunner({ logger: log.logger, stopTimeoutMs: 2_000, ...QUIET, containment, ...overrides });
  after(async () => {
    await runner.stop();
    await cgroup?.remove();
  });
  return { runner, log };
}

function collect(runner: AppRunner): AppRunnerEvent[] {
  const events: AppRunnerEvent[] = [];
  runner.on((e) => events.push(e));
  return events;
}

function processState(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

for (const c of CONTAINMENTS) describe(`app runner (${c.mode})`, { skip: c.skip }, () => {
  before(() => {
    mode = c.mode;
  });

  it('starts an app, logs its output labelled with app and version, and stops it gracefully', async () => {
    const { runner, log } = makeRunner();
    const events = collect(runner);
    await runner.start(fixtureSpec('healthy-http.mjs', { PORT: '0', APP_VERSION: '1.2.3' }, '1.2.3'));
    const pid = runner.status().pid;
    assert.ok(pid !== null && pid > 0);
    const line = await log.waitFor((l) => l['event'] === 'app-output' && String(l['line']).startsWith('listening'));
    assert.equal(line['app'], 'healthy-http');
    assert.equal(line['version'], '1.2.3');
    assert.equal(line['stream'], 'stdout');
    await runner.stop();
    assert.equal(runner.status().pid, null);
    const exited = events.find((e) => e.type === 'exited');
    assert.deepEqual(exited && { code: exited.code, signal: exited.signal }, { code: 0, signal: null });
    assert.equal(events.some((e) => e.type === 'restart-scheduled'), false);
    assert.equal(log.lines.find((l) => l['event'] === 'app-stopped')?.['forced'], false);
  });

  it('restarts a crashing app with delays growing ×1.5 up to the cap, and reports a crash loop once', async () => {
    const { runner, log } = makeRunner();
    const events = collect(runner);
    const sixth = nextEvent(runner, 'restart-scheduled', (e) => e.restarts === 6);
    await runner.start(fixtureSpec('crash-at-start.mjs'));
    await sixth;
    const delays = events.flatMap((e) => (e.type === 'restart-scheduled' ? [e.delayMs] : [])).slice(0, 6);
    assert.deepEqual(delays, [20, 30, 45, 68, 100, 100]);
    const loops = events.filter((e) => e.type === 'crash-loop');
    assert.equal(loops.length, 1);
    assert.equal(runner.status().crashLoop, true);
    assert.ok(events.some((e) => e.type === 'exited' && e.code === 3));
    await log.waitFor((l) => l['event'] === 'app-output' && l['stream'] === 'stderr');
  });

  it('keeps the first delay for an app that ran longer than the stable period', async () => {
    const { runner } = makeRunner({ backoff: { initialMs: 20, factor: 1.5, maxMs: 1_000, stableMs: 100 } });
    const events = collect(runner);
    const third = nextEvent(runner, 'restart-scheduled', (e) => e.restarts === 3);
    await runner.start(fixtureSpec('crash-after.mjs', { CRASH_AFTER_MS: '300' }));
    await third;
    const delays = events.flatMap((e) => (e.type === 'restart-scheduled' ? [e.delayMs] : []));
    assert.deepEqual(delays.slice(0, 3), [20, 20, 20]);
    assert.equal(runner.status().crashLoop, false);
  });

  it('kills an app that ignores SIGTERM with SIGKILL after the stop timeout', async () => {
    const { runner, log } = makeRunner({ stopTimeoutMs: 300 });
    const exited = nextEvent(runner, 'exited');
    await runner.start(fixtureSpec('ignores-sigterm.mjs'));
    await log.waitFor((l) => l['line'] === 'ignores-sigterm: running');
    await runner.stop();
    assert.equal((await exited).signal, 'SIGKILL');
    assert.equal(log.lines.filter((l) => l['line'] === 'ignores-sigterm: SIGTERM ignored').length, 1, 'one SIGTERM: a second may mean "now" to an app');
    assert.equal(log.lines.find((l) => l['event'] === 'app-stopped')?.['forced'], true);
  });

  it('stops the whole process group: no live grandchild remains', async () => {
    const { runner, log } = makeRunner({ stopTimeoutMs: 300 });
    await runner.start(fixtureSpec('forks-child.mjs', { CHILD_IGNORES_SIGTERM: '1' }));
    const line = await log.waitFor((l) => String(l['line']).startsWith('child-pid='));
    const child = Number(String(line['line']).slice('child-pid='.length));
    assert.ok(processState(child) !== null, 'the grandchild runs before stop');
    await runner.stop();
    assert.equal(log.lines.find((l) => l['event'] === 'app-stopped')?.['forced'], true, 'the grandchild ignored SIGTERM');
    const state = processState(child);
    // Gone, or a zombie left to init (it was orphaned when the app exited); never alive, never ours.
    assert.ok(state === null || (state.state === 'Z' && state.ppid !== process.pid), `grandchild state ${JSON.stringify(state)}`);
  });

  it('resolves argv[0] and the working directory against the resolved slot, with the env', async () => {
    const root = mkdtempSync(join(tmpdir(), 'twinslot-runner-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const slot = join(root, 'a');
    mkdirSync(join(slot, 'data'), { recursive: true });
    writeFileSync(join(slot, 'run.sh'), '#!/bin/sh\necho "cwd=$(pwd) foo=$FOO slot=$TWINSLOT_SLOT"\nexec sleep 30\n');
    chmodSync(join(slot, 'run.sh'), 0o755);
    symlinkSync(slot, join(root, 'current'));
    const { runner, log } = makeRunner();
    await runner.start({ slotDir: join(root, 'current'), name: 'sh', version: '2.0.0', entrypoint: { command: ['run.sh'], workingDir: 'data', env: { FOO: 'bar' } }, env: { TWINSLOT_SLOT: 'a' } });
    const line = await log.waitFor((l) => String(l['line']).startsWith('cwd='));
    assert.equal(line['line'], `cwd=${join(slot, 'data')} foo=bar slot=a`);
  });

  it('keeps the supervisor\'s compile cache and notify socket out of the app\'s environment', async () => {
    const root = mkdtempSync(join(tmpdir(), 'twinslot-runner-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(join(root, 'env.sh'), '#!/bin/sh\necho "cache=${NODE_COMPILE_CACHE-unset} notify=${NOTIFY_SOCKET-unset} path=${PATH:+set}"\nexec sleep 30\n');
    chmodSync(join(root, 'env.sh'), 0o755);
    const saved = { cache: process.env['NODE_COMPILE_CACHE'], notify: process.env['NOTIFY_SOCKET'] };
    process.env['NODE_COMPILE_CACHE'] = '/var/lib/twinslot/cache/supervisor';
    process.env['NOTIFY_SOCKET'] = '/run/systemd/notify';
    after(() => {
      for (const [name, value] of [['NODE_COMPILE_CACHE', saved.cache], ['NOTIFY_SOCKET', saved.notify]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    const { runner, log } = makeRunner();
    await runner.start({ slotDir: root, name: 'sh', version: '1.0.0', entrypoint: { command: ['env.sh'] }, env: {} });
    assert.equal((await log.waitFor((l) => String(l['line']).startsWith('cache=')))['line'], 'cache=unset notify=unset path=set');
    await runner.stop();
    await runner.start({ slotDir: root, name: 'sh', version: '1.0.1', entrypoint: { command: ['env.sh'], env: { NODE_COMPILE_CACHE: '/app/cache' } }, env: { NOTIFY_SOCKET: '/run/twinslot/notify' } });
    const own = await log.waitFor((l) => l['version'] === '1.0.1' && String(l['line']).startsWith('cache='));
    assert.equal(own['line'], 'cache=/app/cache notify=/run/twinslot/notify path=set', 'the manifest\'s and twinslot\'s own values pass');
  });

  it('runs the app as the entrypoint user when the supervisor is root', { skip: process.getuid?.() === 0 ? false : 'needs root to switch users' }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'twinslot-runner-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    chmodSync(root, 0o755);
    writeFileSync(join(root, 'whoami.sh'), '#!/bin/sh\necho "uid=$(id -u) home=$HOME user=$USER"\nexec sleep 30\n');
    chmodSync(join(root, 'whoami.sh'), 0o755);
    const { runner, log } = makeRunner();
    await runner.start({ slotDir: root, name: 'sh', version: '1.0.0', entrypoint: { command: ['whoami.sh'], user: 'nobody' }, env: {} });
    const line = await log.waitFor((l) => String(l['line']).startsWith('uid='));
    assert.match(String(line['line']), /^uid=(?!0 )\d+ home=\S+ user=nobody$/);
  });

  it('rejects an unknown entrypoint user', { skip: process.getuid?.() === 0 ? false : 'needs root to switch users' }, async () => {
    const { runner } = makeRunner();
    const spec = fixtureSpec('healthy-http.mjs');
    await assert.rejects(runner.start({ ...spec, entrypoint: { ...spec.entrypoint, user: 'no-such-user-twinslot' } }), { code: 'APP_USER_UNKNOWN' });
  });

  it('rejects a start whose command cannot be spawned', async () => {
    const { runner } = makeRunner();
    const spec = fixtureSpec('healthy-http.mjs');
    await assert.rejects(runner.start({ ...spec, entrypoint: { command: ['/nonexistent/app'] } }), { code: 'APP_SPAWN_FAILED' });
    assert.equal(runner.status().pid, null);
  });
});
