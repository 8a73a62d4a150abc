// `node bench/fleet.ts [--devices 1000] [--json] [--quick]`: a simulated fleet against the
// emulator on 127.0.0.1. Each device has its own MQTT.js client, TLS client certificate and job
// loop (bench/fleet/device.ts), a few hundred per worker process. Measures (1) a connect storm,
// (2) a job rolled out with maximumPerMinute, (3) a broker crash and restart mid-rollout, (4) no
// execution stuck or duplicated, (5) memory per device and of the emulator. `--quick`: 200 devices.
// Certificates are cached in $TMPDIR/twinslot-bench-fleet-certs-<N> (`--fresh-certs` remakes
// them); everything else the run makes, processes and files, is gone when it ends or on Ctrl-C.

import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fleetCerts } from './fleet/certs.ts';
import { memoryOf, startHost, startWorker, stopChildren, type Host, type Worker } from './fleet/procs.ts';
import type { ExecutionRow, WorkerStats } from './fleet/protocol.ts';
import { machine, renderResult, type FleetResult } from './fleet/report.ts';
import { Tally } from './fleet/tally.ts';

const JOB_ID = 'fleet-install-1-1-0';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED']);
const MiB = 2 ** 20;

const { values } = parseArgs({
  options: {
    devices: { type: 'string' }, json: { type: 'boolean' }, quick: { type: 'boolean' },
    rate: { type: 'string' }, 'per-worker': { type: 'string' }, 'bundle-kib': { type: 'string' },
    'down-ms': { type: 'string' }, 'fresh-certs': { type: 'boolean' },
  },
});
const devices = Number(values.devices ?? (values.quick ? 200 : 1000));
const rate = Number(values.rate ?? Math.max(1, Math.round(devices * 0.6)));
const perWorker = Number(values['per-worker'] ?? 250);
const bundleBytes = Number(values['bundle-kib'] ?? 64) * 1024;
const downMs = Number(values['down-ms'] ?? 2000);
if (![devices, rate, perWorker, bundleBytes, downMs].every((n) => Number.isInteger(n) && n >= 0) || devices < 1 || rate < 1 || rate > 1000) {
  process.stderr.write('usage: node bench/fleet.ts [--devices N] [--rate 1..1000] [--per-worker N] [--bundle-kib N] [--down-ms N] [--fresh-certs] [--json] [--quick]\n');
  process.exit(2);
}

let tmp: string | undefined;
let brokerPid: number | undefined;

/** Stops every process this run started and removes its temp directory (the cert cache stays). */
async function cleanup(): Promise<void> {
  await stopChildren();
  // The broker is the emulator host's child; if the host could not stop it, it is ours to end.
  if (brokerPid && tmp) {
    try {
      if (readFileSync(`/proc/${brokerPid}/cmdline`, 'utf8').includes(tmp)) process.kill(brokerPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void cleanup().finally(() => process.exit(130)); });
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) { process.stderr.write(`fleet: gave up waiting for ${what}\n`); return false; }
    await sleep(100);
  }
  return true;
}

async function workerStats(workers: Worker[]): Promise<WorkerStats[]> {
  return Promise.all(workers.map((w) => new Promise<WorkerStats>((resolve) => {
    const on = (msg: { type: string; stats?: WorkerStats }): void => { if (msg.type === 'stats' && msg.stats) { w.child.off('message', on); resolve(msg.stats); } };
    w.child.on('message', on);
    w.send({ type: 'stats' });
  })));
}

const workersRss = (workers: Worker[]): number => workers.reduce((n, w) => n + memoryOf(w.child.pid).rss, 0);
const log = (line: string): void => { process.stderr.write(`fleet: ${line}\n`); };

async function startFleet(host: Host, certs: Awaited<ReturnType<typeof fleetCerts>>, tally: Tally): Promise<Worker[]> {
  const workers: Worker[] = [];
  let ready = 0;
  for (let i = 0; i < certs.things.length; i += perWorker) {
    const things = certs.things.slice(i, i + perWorker);
    const w = startWorker(things, (msg) => { if (msg.type === 'ready') ready++; else tally.on(msg); });
    w.send({ type: 'init', things, thingsDir: certs.thingsDir, caPath: host.ready.caPath, port: host.ready.port });
    workers.push(w);
  }
  await until('workers ready', () => ready === workers.length, 60_000);
  return workers;
}

async function main(): Promise<number> {
  tmp = await mkdtemp(join(tmpdir(), 'twinslot-bench-fleet-'));
  const t0 = performance.now();
  const certs = await fleetCerts(devices, values['fresh-certs'] ?? false);
  log(certs.cached ? `certificates reused from ${certs.dir}` : `issued ${devices} certificates in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const host = await startHost(join(tmp, 'emulator'), certs.pkiDir, bundleBytes);
  brokerPid = (await host.request<{ broker?: number }>({ type: 'pids' })).broker;
  const tally = new Tally(certs.things);
  const workers = await startFleet(host, certs, tally);
  const idleRss = workersRss(workers);

  // (1) Connect storm: every worker connects all its devices in the same tick.
  const stormStart = Date.now();
  for (const w of workers) w.send({ type: 'connect' });
  await until('all devices connected', () => tally.count((r) => r.connectedAt !== undefined) === devices, 300_000);
  const storm = tally.storm(stormStart);
  log(`storm: ${storm.connected} connected in ${storm.allConnectedMs} ms`);
  await sleep(3000);
  const brokerAfterStorm = memoryOf(brokerPid);

  // (2) + (3) The rollout, with the broker crashing once the last wave is being worked on.
  const document = JSON.stringify({ twinslot: 1, operation: 'install', version: '1.1.0', bundle: { url: host.ready.bundleUrl, sha256: host.ready.bundleSha256, size: host.ready.bundleSize } });
  const { createdAt } = await host.request<{ createdAt: number }>({ type: 'create-job', jobId: JOB_ID, document, maximumPerMinute: rate, targets: certs.things });
  // The crash comes once a quarter of the last wave has started, so executions are in flight.
  const waves = Math.ceil(devices / rate);
  const lastWave = devices - (waves - 1) * rate;
  const trigger = devices - Math.ceil(lastWave * 0.75);
  log(`job created, ${waves} wave(s) at ${rate}/min; the broker crashes once ${trigger} executions have started`);
  await until('the last wave to start', () => tally.count((r) => r.starts.has(JOB_ID)) >= trigger, waves * 60_000 + 120_000);
  const crash = await host.request<{ killedAt: number; restartedAt: number }>({ type: 'broker-crash', downMs });
  brokerPid = (await host.request<{ broker?: number }>({ type: 'pids' })).broker;
  log('broker back; waiting for the rollout to finish');
  await until('every device reconnected', () => tally.reconnect(crash.killedAt, crash.restartedAt).devices === devices, 180_000);
  await until('every execution done', () => tally.count((r) => r.done.has(JOB_ID)) === devices, 180_000);
  const doneAt = Math.max(...[...tally.things.values()].map((r) => r.done.get(JOB_ID) ?? 0));
  await sleep(2000);

  // (4) None stuck, none duplicated, from the service's own records and the devices'.
  const rows = await host.request<ExecutionRow[]>({ type: 'executions', jobId: JOB_ID });
  const statuses: Record<string, number> = {};
  for (const row of rows) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  const stuck = rows.filter((r) => !TERMINAL.has(r.status)).length + (devices - new Set(rows.map((r) => r.thing)).size);
  const duplicated = rows.filter((r) => r.executionNumber > 1).length
    + tally.count((r) => r.duplicates > 0 || (r.starts.get(JOB_ID)?.length ?? 0) > 1);
  const stats = await workerStats(workers);

  // (5) Memory.
  const finalRss = workersRss(workers);
  const hostMem = memoryOf(host.child.pid);
  const brokerMem = memoryOf(brokerPid);
  const perMinute = tally.startsPerMinute(JOB_ID, createdAt);
  // The service's own startedAt (whole seconds) bucketed the same way, as a cross-check.
  const servicePerMinute: number[] = [];
  for (const row of rows) {
    if (row.startedAt === undefined) continue;
    const minute = Math.max(0, Math.floor((Date.parse(row.startedAt) - Math.floor(createdAt / 1000) * 1000) / 60_000));
    while (servicePerMinute.length <= minute) servicePerMinute.push(0);
    servicePerMinute[minute] = (servicePerMinute[minute] ?? 0) + 1;
  }
  const completed = statuses['SUCCEEDED'] ?? 0;
  const back = tally.reconnect(crash.killedAt, crash.restartedAt);
  const inFlight = tally.count((r) => (r.starts.get(JOB_ID)?.[0] ?? Infinity) < crash.killedAt && (r.done.get(JOB_ID) ?? Infinity) > crash.killedAt);
  const notStarted = tally.count((r) => (r.starts.get(JOB_ID)?.[0] ?? Infinity) > crash.killedAt);
  const result: FleetResult = {
    devices, workers: workers.length, client: 'MQTT.js clients (one per device; the agent itself uses aws-crt)', machine: machine(),
    certs: { cached: certs.cached, issueSeconds: certs.issueMs / 1000, dir: certs.dir },
    storm,
    rollout: {
      maximumPerMinute: rate, startsPerMinute: perMinute, serviceStartsPerMinute: servicePerMinute, maxStartsInAMinute: Math.max(0, ...perMinute),
      held: [...perMinute, ...servicePerMinute].every((n) => n <= rate),
      completed, durationSeconds: (doneAt - createdAt) / 1000, requestRetries: stats.reduce((n, s) => n + s.requestRetries, 0),
      deviceErrors: tally.count((r) => r.errors.length > 0),
    },
    restart: { mode: 'kill -9 + restart', atSecondsAfterCreate: (crash.killedAt - createdAt) / 1000, downMs, inFlightAtCrash: inFlight, notStartedAtCrash: notStarted, reconnected: back.devices, allBackMs: back.allBackMs, p50BackMs: back.p50Ms },
    checks: { stuck, duplicated, statuses },
    memory: {
      workerRssMiB: finalRss / MiB, perDeviceKiB: finalRss / devices / 1024, perDeviceMarginalKiB: (finalRss - idleRss) / devices / 1024,
      emulatorRssMiB: hostMem.rss / MiB, emulatorPeakMiB: hostMem.peak / MiB,
      brokerRssMiB: Math.max(brokerMem.rss, brokerAfterStorm.rss) / MiB, brokerPeakMiB: Math.max(brokerMem.peak, brokerAfterStorm.peak) / MiB,
    },
    pass: false,
  };
  result.pass = storm.connected === devices && result.rollout.held && completed === devices && stuck === 0 && duplicated === 0 && back.devices === devices;
  for (const [thing, r] of tally.things) if (r.errors.length > 0) log(`${thing}: ${r.errors.slice(0, 3).join('; ')}`);
  process.stdout.write(renderResult(result));
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.pass ? 0 : 1;
}

try {
  process.exitCode = await main();
} finally {
  await cleanup();
}
