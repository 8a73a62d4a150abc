// The supervisor's config is strict: unknown keys, wrong types and out-of-range values are
// CONFIG_INVALID naming the JSON path; everything the installer writes and the docs list parses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSupervisorConfig } from '../../../supervisor/config.ts';
import { mergeDeviceConfig } from '../../../installer/config/device-config.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

const refusals: Array<[string, unknown, RegExp]> = [
  ['misspelt supervisor key', { supervisor: { watchdg: {} } }, /^supervisor\.watchdg: unknown key$/],
  ['nested unknown key', { supervisor: { watchdog: { timeout: 5 } } }, /^supervisor\.watchdog\.timeout: unknown key$/],
  ['health given as text', { health: { probationSeconds: '30' } }, /^health\.probationSeconds: must be a number/],
  ['unknown health key', { health: { probation: 30 } }, /^health\.probation: unknown key$/],
  ['health http without url', { health: { http: { intervalMs: 100 } } }, /^health\.http\.url: is required$/],
  ['health probe interval 0', { health: { http: { url: 'http://127.0.0.1/h', intervalMs: 0 } } }, /^health\.http\.intervalMs: must be an integer in \[10, /],
  ['health command argv empty', { health: { command: { argv: [] } } }, /^health\.command\.argv: must be a non-empty array/],
  ['health not an object', { health: [] }, /^health: must be an object/],
  ['fractional attempts', { supervisor: { trial: { attempts: 1.5 } } }, /^supervisor\.trial\.attempts: must be an integer in \[1, 100\], got 1\.5$/],
  ['negative stop timeout', { supervisor: { stopTimeoutMs: -1 } }, /^supervisor\.stopTimeoutMs: must be an integer/],
  ['backoff factor below 1', { supervisor: { backoff: { factor: 0.5 } } }, /^supervisor\.backoff\.factor: must be a number in \[1, 100\]/],
  ['log level', { supervisor: { logLevel: 'verbose' } }, /^supervisor\.logLevel: must be one of debug, info, warn, error/],
  ['allowRootApps as text', { supervisor: { allowRootApps: 'yes' } }, /^supervisor\.allowRootApps: must be true or false/],
  ['watchdog device relative', { supervisor: { watchdog: { device: 'watchdog0' } } }, /^supervisor\.watchdog\.device: must be a device path/],
  ['unknown app key', { app: { usr: 'x' } }, /^app\.usr: unknown key$/],
  ['app user with a colon', { app: { user: 'a:b' } }, /^app\.user: must be a user name/],
  ['supervisor section not an object', { supervisor: 5 }, /^supervisor: must be an object/],
];

for (const [name, raw, message] of refusals) {
  test(`CONFIG_INVALID: ${name}`, () => {
    assert.throws(() => parseSupervisorConfig(raw), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('other components\' sections are not the supervisor\'s business', () => {
  const s = parseSupervisorConfig({ device: { thingName: 't' }, agent: { anything: 1 }, provisioning: { mode: 'claim' } });
  assert.equal(s.appUser, 'twinslot-app');
  assert.equal(s.allowRootApps, false);
});

test('the config install.sh writes parses, and names the app user', () => {
  const written = mergeDeviceConfig(undefined, { thingName: 'gw-1', endpoints: ['x.example'], certPath: '/c', keyPath: '/k', watchdog: '/dev/watchdog' });
  const s = parseSupervisorConfig(JSON.parse(JSON.stringify(written)));
  assert.equal(s.appUser, 'twinslot-app');
  assert.equal(s.agentUser, 'twinslot');
  assert.equal(s.socketGroup, 'twinslot');
  assert.equal(s.watchdog.device, '/dev/watchdog');
});

// Every key of docs/configuration.md's supervisor, health and app tables, set to a valid value.
const FULL = {
  supervisor: {
    watchdog: { device: 'recording', timeoutSeconds: 20, maxLagMs: 1000, recordFile: '/tmp/wd.jsonl', recordBootStatus: 32 },
    trial: { attempts: 2, loopLimit: 5 },
    rebootCommand: ['/sbin/reboot'],
    stopTimeoutMs: 5000,
    backoff: { initialMs: 500, factor: 2, maxMs: 10_000, stableMs: 20_000 },
    crashLoop: { restarts: 5, windowMs: 30_000 },
    socketGroup: 'twinslot', agentUser: 'twinslot', metricsPort: 9100, logLevel: 'debug', allowRootApps: true, jobHttpProbePorts: [8080],
  },
  health: {
    startTimeoutSeconds: 45, probationSeconds: 10,
    http: { url: 'http://127.0.0.1:8080/health', intervalMs: 1000, timeoutMs: 500, failureThreshold: 2 },
    command: { argv: ['./check'], intervalMs: 1000, timeoutMs: 500, failureThreshold: 2 },
    notify: { watchdogSec: 5 },
  },
  app: { user: 'twinslot-app', allowedUsers: ['twinslot-app', 'twinslot-app2'], memoryMax: '256M', cpuWeight: 50 },
};

function documentedKeys(section: string): string[] {
  const docs = readFileSync(join(REPO, 'docs', 'configuration.md'), 'utf8');
  const body = docs.split(`\n## \`${section}\`\n`)[1]?.split('\n## ')[0] ?? '';
  const keys: string[] = [];
  for (const row of body.split('\n').filter((l) => l.startsWith('| `'))) {
    const cell = row.split('|')[1] ?? '';
    const names = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    // `http.intervalMs` / `timeoutMs`: later names share the first one's parent.
    const parent = names[0]?.includes('.') ? names[0].slice(0, names[0].lastIndexOf('.') + 1) : '';
    names.forEach((n, i) => keys.push(i > 0 && !n.includes('.') ? parent + n : n));
  }
  return keys;
}

function has(o: unknown, path: string): boolean {
  let at: unknown = o;
  for (const k of path.split('.')) {
    if (typeof at !== 'object' || at === null || !(k in at)) return false;
    at = (at as Record<string, unknown>)[k];
  }
  return true;
}

test('every documented supervisor, health and app key is accepted', () => {
  for (const section of ['supervisor', 'health', 'app'] as const) {
    const keys = documentedKeys(section);
    assert.ok(keys.length > 0, `docs list keys for ${section}`);
    for (const key of keys) assert.ok(has(FULL[section], key), `${section}.${key} is in the full test config`);
  }
  const s = parseSupervisorConfig(FULL);
  assert.equal(s.watchdog.recordBootStatus, 32);
  assert.deepEqual(s.health.notify, { watchdogSec: 5 });
  assert.equal(s.allowRootApps, true);
  assert.equal(s.metricsPort, 9100);
  assert.deepEqual(s.jobHttpProbePorts, [8080]);
  assert.deepEqual(s.allowedUsers, ['twinslot-app', 'twinslot-app2']);
  assert.equal(s.memoryMax, 256 * 1024 * 1024);
  assert.equal(s.cpuWeight, 50);
});

test('the app section: allowedUsers defaults to app.user; bad lists, byte counts and weights are CONFIG_INVALID', () => {
  assert.deepEqual(parseSupervisorConfig({ app: { user: 'svc' } }).allowedUsers, ['svc']);
  assert.deepEqual(parseSupervisorConfig({}).jobHttpProbePorts, []);
  for (const [app, path] of [
    [{ allowedUsers: [] }, /app\.allowedUsers/], [{ allowedUsers: ['a', 'a'] }, /app\.allowedUsers/], [{ allowedUsers: ['bad name'] }, /app\.allowedUsers/],
    [{ memoryMax: '12X' }, /app\.memoryMax/], [{ memoryMax: 1000 }, /app\.memoryMax/], [{ cpuWeight: 0 }, /app\.cpuWeight/],
  ] as const) {
    assert.throws(() => parseSupervisorConfig({ app }), { code: 'CONFIG_INVALID', message: path });
  }
  assert.throws(() => parseSupervisorConfig({ supervisor: { jobHttpProbePorts: [0] } }), { code: 'CONFIG_INVALID', message: /supervisor\.jobHttpProbePorts/ });
});

test('the documented minimal device config parses', () => {
  const docs = readFileSync(join(REPO, 'docs', 'configuration.md'), 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(block);
  const s = parseSupervisorConfig(JSON.parse(block));
  assert.equal(s.health.probationSeconds, 60);
});
