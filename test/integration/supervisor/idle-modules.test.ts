// What an idle supervisor has loaded: its own graph and pino, and nothing that only other
// commands, unconfigured features or unused probe kinds need. A regression guard for the idle
// memory (bench/swap.ts measures the figure): each module listed here costs resident memory
// for the whole life of the process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { committedDevice, startSupervisor, teardown, waitForVersion, type Device } from './harness.ts';

const RECORDER = pathToFileURL(join(import.meta.dirname, 'module-recorder.mjs')).href;

interface Loaded {
  modules: string[];
  builtins: string[];
}

/** Runs the supervisor with a healthy committed HTTP app until the app answers, stops it, returns what it loaded. */
async function idleSupervisorLoads(device: Device, port: number): Promise<Loaded> {
  const log = join(device.root, 'modules.json');
  const sup = await startSupervisor(device, { env: { NODE_OPTIONS: `--import=${RECORDER}`, TWINSLOT_TEST_MODULE_LOG: log } });
  try {
    await waitForVersion(port, '1.0.0');
    await sup.waitLog('health-verdict', (l) => l.state === 'healthy');
    sup.child.kill('SIGTERM');
    const { code } = await sup.exited;
    assert.equal(code, 0);
    return JSON.parse(readFileSync(log, 'utf8')) as Loaded;
  } finally {
    await teardown(device, sup);
  }
}

const repoPath = (url: string): string => url.replace(pathToFileURL(join(import.meta.dirname, '..', '..', '..')).href, '');
const builtin = (list: string[], name: string): boolean => list.includes(`NativeModule ${name}`);

test('an idle supervisor loads neither other commands nor unused features', { timeout: 90_000 }, async () => {
  const { device, port } = committedDevice();
  const loaded = await idleSupervisorLoads(device, await port);
  const ours = loaded.modules.map(repoPath);
  // The recorder saw the graph (so the absences below mean something).
  for (const expected of ['/supervisor/main.ts', '/supervisor/health/probes.ts', '/supervisor/runner/launch.ts']) assert.ok(ours.includes(expected), expected);
  assert.ok(ours.some((m) => m.startsWith('/node_modules/pino/')), 'pino');

  const commands = ours.filter((m) => m.startsWith('/cli/commands/'));
  assert.deepEqual(commands, ['/cli/commands/supervisor.ts']);
  // bundle/signature.ts and keys.ts are the supervisor's own: it verifies every slot at slot-ready
  // (imported at start, so the compile cache holds them; a lazy import would keep the type stripper).
  const foreign = ours.filter((m) => /^\/(agent|emulator|demo|installer|jobs-documents)\//.test(m) || /^\/bundle\/(create|install|disk-sink|head|entry-checks|index|cli\/)/.test(m));
  assert.deepEqual(foreign, []);
  const packages = ours.filter((m) => /^\/node_modules\/(aws-iot-device-sdk-v2|aws-crt|tar|ajv|koffi|execa)\//.test(m));
  assert.deepEqual(packages, [], 'no MQTT SDK, tar, ajv, execa (supervisor/command.ts), or koffi without a watchdog device or a notify probe');
  assert.ok(!ours.includes('/supervisor/metrics.ts'), 'no metrics server without metricsPort');

  // node:http as an ES module evaluates its WebSocket getters, which load undici, http2 and zlib.
  for (const name of ['internal/deps/undici/undici', 'http2', 'zlib', 'tls', 'https']) assert.ok(!builtin(loaded.builtins, name), name);
  assert.ok(builtin(loaded.builtins, 'http'), 'the HTTP probe ran');
});

test('the metrics endpoint loads its server without undici', { timeout: 90_000 }, async () => {
  const { device, port } = committedDevice({ supervisor: { metricsPort: 0 } });
  const loaded = await idleSupervisorLoads(device, await port);
  assert.ok(loaded.modules.map(repoPath).includes('/supervisor/metrics.ts'));
  for (const name of ['internal/deps/undici/undici', 'http2', 'zlib']) assert.ok(!builtin(loaded.builtins, name), name);
});
