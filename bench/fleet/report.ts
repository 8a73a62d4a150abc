// The fleet benchmark's result: one object (printed as a JSON line with --json) and its table.

import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { renderTable } from '../../common/table.ts';

export interface FleetResult {
  devices: number;
  workers: number;
  client: string;
  machine: string;
  certs: { cached: boolean; issueSeconds: number; dir: string };
  storm: { connected: number; allConnectedMs: number; connectsPerSecond: number; p50Ms: number; p95Ms: number; failedAttempts: number; devicesThatRetried: number };
  rollout: { maximumPerMinute: number; startsPerMinute: number[]; serviceStartsPerMinute: number[]; maxStartsInAMinute: number; held: boolean; completed: number; durationSeconds: number; requestRetries: number; deviceErrors: number };
  restart: { mode: string; atSecondsAfterCreate: number; downMs: number; inFlightAtCrash: number; notStartedAtCrash: number; reconnected: number; allBackMs: number; p50BackMs: number };
  checks: { stuck: number; duplicated: number; statuses: Record<string, number> };
  memory: { workerRssMiB: number; perDeviceKiB: number; perDeviceMarginalKiB: number; emulatorRssMiB: number; emulatorPeakMiB: number; brokerRssMiB: number; brokerPeakMiB: number };
  pass: boolean;
}

/** The machine, as bench/run.ts notes it, plus the broker's version. */
export function machine(): string {
  let broker = 'mosquitto ?';
  try {
    broker = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? broker;
  } catch (err) {
    // `mosquitto -h` exits 3 after printing its usage.
    broker = String((err as { stdout?: string }).stdout ?? '').split('\n')[0] || broker;
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, ${broker}`;
}

const f0 = (n: number): string => n.toFixed(0);
const f1 = (n: number): string => n.toFixed(1);
const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');

/** The result as a plain-text table. */
export function renderResult(r: FleetResult): string {
  const rows: string[][] = [
    ['certificates', r.certs.cached ? 'cached' : `${f1(r.certs.issueSeconds)} s to issue`, `${r.devices} things, one CA, openssl in parallel`, ''],
    ['storm: connected', `${r.storm.connected}/${r.devices}`, 'all at once, TLS client certs', yes(r.storm.connected === r.devices)],
    ['storm: connects per second', f0(r.storm.connectsPerSecond), '', ''],
    ['storm: time to all connected', `${f0(r.storm.allConnectedMs)} ms`, `p50 ${f0(r.storm.p50Ms)} ms, p95 ${f0(r.storm.p95Ms)} ms`, ''],
    ['storm: failed attempts', String(r.storm.failedAttempts), `${r.storm.devicesThatRetried} devices retried`, ''],
    ['rollout: starts per minute', r.rollout.startsPerMinute.join(' / '),
      `maximumPerMinute ${r.rollout.maximumPerMinute}; service's startedAt: ${r.rollout.serviceStartsPerMinute.join(' / ')}`, yes(r.rollout.held)],
    ['rollout: jobs completed', `${r.rollout.completed}/${r.devices}`, `in ${f1(r.rollout.durationSeconds)} s after create-job`, yes(r.rollout.completed === r.devices)],
    ['broker restart', `${r.restart.mode}, down ${r.restart.downMs} ms`, `at ${f1(r.restart.atSecondsAfterCreate)} s after create-job; ${r.restart.inFlightAtCrash} executions in flight, ${r.restart.notStartedAtCrash} not started`, ''],
    ['restart: devices back', `${r.restart.reconnected}/${r.devices}`, `all in ${f0(r.restart.allBackMs)} ms, p50 ${f0(r.restart.p50BackMs)} ms (full jitter)`, yes(r.restart.reconnected === r.devices)],
    ['request re-sends / device errors', `${r.rollout.requestRetries} / ${r.rollout.deviceErrors}`, '', ''],
    ['stuck executions', String(r.checks.stuck), Object.entries(r.checks.statuses).map(([k, v]) => `${k} ${v}`).join(', '), yes(r.checks.stuck === 0)],
    ['duplicated executions', String(r.checks.duplicated), 'same job twice on a device', yes(r.checks.duplicated === 0)],
    ['memory per device', `${f0(r.memory.perDeviceKiB)} KiB`, `worker RSS ${f1(r.memory.workerRssMiB)} MiB / ${r.devices}; marginal ${f0(r.memory.perDeviceMarginalKiB)} KiB`, ''],
    ['emulator memory', `${f1(r.memory.emulatorRssMiB)} MiB`, `peak ${f1(r.memory.emulatorPeakMiB)} MiB (jobs service, responder, files)`, ''],
    ['broker memory', `${f1(r.memory.brokerRssMiB)} MiB`, `peak ${f1(r.memory.brokerPeakMiB)} MiB (mosquitto)`, ''],
  ];
  const head = `fleet: ${r.devices} devices in ${r.workers} worker processes, ${r.client}\n${r.machine}\n\n`;
  return head + renderTable(['measure', 'value', 'detail', 'ok'], rows, ['left', 'right', 'left', 'left']);
}
