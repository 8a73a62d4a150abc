// `node bench/outbox.ts [--json]`: durable outbox enqueue rate against a raw write+fdatasync
// loop measured in the same run (ratio), drain rate after reconnect against a real Mosquitto,
// and the idle RSS of a connected agent-link process (target ≤ 90 MiB).

import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig } from '../agent/config.ts';
import { startLink } from '../agent/link.ts';
import { Outbox } from '../agent/outbox/outbox.ts';
import { silentLogger } from '../common/log.ts';
import { createPki, issueClientCert } from '../emulator/broker/pki.ts';
import { startMosquitto } from '../emulator/broker/mosquitto.ts';
import { rawTestConfig } from '../test/fixtures/agent/config.ts';

const N = 2000;
const DRAIN = 5000;
const json = process.argv.includes('--json');
const dir = await mkdtemp(join(tmpdir(), 'twinslot-bench-outbox-'));
const offlineLink = { isConnected: () => false, publish: () => Promise.reject(new Error('offline')), onEvent: () => () => undefined };

function rawFdatasync(): number {
  const fd = openSync(join(dir, 'raw.log'), 'w');
  const record = Buffer.alloc(120, 1);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1) {
    writeSync(fd, record);
    fdatasyncSync(fd);
  }
  closeSync(fd);
  return N / ((performance.now() - t0) / 1000);
}

function enqueue(path: string, count: number): number {
  const outbox = new Outbox({ path, config: parseAgentConfig(config(1)).outbox, link: offlineLink, log: silentLogger() });
  const t0 = performance.now();
  for (let i = 0; i < count; i += 1) outbox.publish('twinslot/bench/telemetry', JSON.stringify({ i, pad: 'x'.repeat(80) }));
  const rate = count / ((performance.now() - t0) / 1000);
  void outbox.stop(0);
  return rate;
}

let creds = { cert: '', key: '' };
let caPath = '';
function config(port: number): Record<string, unknown> {
  return rawTestConfig({ thingName: 'bench', creds, caPath, ports: [port], outbox: { maxMessages: 100_000 } });
}

const pki = await createPki(join(dir, 'pki'));
creds = await issueClientCert(pki, 'bench');
caPath = pki.caCert;
const broker = await startMosquitto({ dir: join(dir, 'broker'), pki });

const rawRate = rawFdatasync();
const enqueueRate = enqueue(join(dir, 'enqueue.db'), N);

// Drain: a full outbox, then the link connects and empties it.
const agentDir = join(dir, 'agent');
await import('node:fs/promises').then((fs) => fs.mkdir(agentDir, { recursive: true }));
enqueue(join(agentDir, 'outbox.db'), DRAIN);
const t0 = performance.now();
const link = await startLink({ config: parseAgentConfig(config(broker.port)), agentDir, log: silentLogger() });
while (link.outbox.stats().depth > 0) await new Promise((resolve) => setTimeout(resolve, 10));
const drainRate = DRAIN / ((performance.now() - t0) / 1000);
await link.stop();

// Idle RSS of a connected agent-link process.
const configPath = join(dir, 'idle.json');
await writeFile(configPath, JSON.stringify(config(broker.port)));
// Measured as the agent runs on a device: with Node's compile cache (the systemd units set
// NODE_COMPILE_CACHE), filled by a first start that is stopped once connected.
const linkProcess = join(import.meta.dirname, '../test/fixtures/agent/link-process.ts');
const env = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
const warm = spawn(process.execPath, [linkProcess, configPath, join(dir, 'warm-agent')], { stdio: ['ignore', 'pipe', 'inherit'], env });
await new Promise<void>((resolve) => warm.stdout.on('data', (b: Buffer) => b.toString().includes('"connected"') && resolve()));
warm.kill('SIGTERM');
await new Promise((resolve) => warm.once('exit', resolve));
const child = spawn(process.execPath, [linkProcess, configPath, join(dir, 'idle-agent')], { stdio: ['ignore', 'pipe', 'inherit'], env });
await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('"connected"') && resolve()));
await new Promise((resolve) => setTimeout(resolve, 3000));
const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
const idleRssMiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await broker.kill9();
await rm(dir, { recursive: true, force: true });

const result = {
  bench: 'outbox',
  rawFdatasyncPerSec: Math.round(rawRate),
  enqueuePerSec: Math.round(enqueueRate),
  enqueueVsFdatasync: Number((enqueueRate / rawRate).toFixed(2)),
  drainPerSec: Math.round(drainRate),
  idleRssMiB: Number(idleRssMiB.toFixed(1)),
  idleRssTargetMiB: 90,
};
if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  console.log('outbox benchmark');
  console.log(`  raw write+fdatasync      ${result.rawFdatasyncPerSec} /s`);
  console.log(`  durable enqueue          ${result.enqueuePerSec} /s  (×${result.enqueueVsFdatasync} of fdatasync)`);
  console.log(`  drain after reconnect    ${result.drainPerSec} msg/s`);
  console.log(`  idle RSS, connected      ${result.idleRssMiB} MiB (target ≤ 90)`);
}
process.exit(0);
