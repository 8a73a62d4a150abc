// The end-to-end rig: the emulator (Mosquitto + Jobs + presigned HTTPS files), a device root
// with a real supervisor (recording watchdog) running version 1.0.0, a bundle signing key in the
// device's trust dir, and the agent as a real `twinslot agent` child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { onJsonLines } from '../../../../common/json-lines.ts';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createHash, createPrivateKey } from 'node:crypto';
import { createBundle } from '../../../../bundle/create.ts';
import { generateKeyPair } from '../../../../bundle/keys.ts';
import type { HealthSpec } from '../../../../bundle/manifest-types.ts';
import { startEmulator, type EmulatorHandle } from '../../../../emulator/emulator.ts';
import { presignUrl } from '../../../../emulator/files/presign.ts';
import { systemClock, type Clock } from '../../../../common/clock.ts';
import { freePort, install, makeDevice, startSupervisor, subscribe, teardown, type Device, type RunningSupervisor } from '../../supervisor/harness.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const BIN = join(REPO, 'bin', 'twinslot.js');
const APPS = join(REPO, 'test', 'fixtures', 'apps');
export const DEADLINE_MS = 120_000;
export const THING = 'dev-1';

export interface Rig {
  emulator: EmulatorHandle;
  device: Device;
  supervisor: RunningSupervisor;
  appPort: number;
  dir: string;
  /** A signed bundle of a fixture app at `version`, uploaded as s3://releases/<name>. */
  bundle(version: string, opts?: BundleOptions): Promise<BundleInfo>;
  /** Starts `twinslot agent`; `crashAt` injects a SIGKILL when a job first enters that phase. */
  startAgent(crashAt?: string): Promise<AgentProcess>;
  createJob(jobId: string, document: object, extra?: Record<string, unknown>): void;
  /** Waits until the execution of `jobId` is terminal; returns it. */
  finalOf(jobId: string): Promise<Record<string, unknown>>;
  execution(jobId: string): Record<string, unknown> | undefined;
  /** Stops the whole emulator (broker, Jobs, files) and starts it again on the same ports and state. */
  restartEmulator(): Promise<void>;
  /** A literal presigned URL of `bundle` through a proxy on 127.0.0.1:`port` in front of the file server. */
  presignedVia(bundle: BundleInfo, port: number, expiresInSec?: number): string;
  /** Port of the emulator's HTTPS file server. */
  filesPort(): number;
  /** Stops the emulator (the link goes down); startEmulatorAgain() brings it back on the same ports. */
  stopEmulator(): Promise<void>;
  startEmulatorAgain(): Promise<void>;
  /** Messages on `filter` seen by another client (the thing's certificate, its own client id). */
  observe(filter: string): Promise<{ messages(topic: string): string[] }>;
}

export interface BundleOptions { fixture?: string; env?: Record<string, string>; health?: HealthSpec; padBytes?: number; name?: string }
export interface BundleInfo { file: string; url: string; sha256: string; size: number; version: string; name: string }

export interface AgentProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  waitLog(event: string, match?: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Builds the rig for one test; everything is stopped and removed afterwards. */
export async function startRig(t: Pick<TestContext, 'after'>, over: { agent?: Record<string, unknown>; supervisor?: Record<string, unknown>; deviceType?: string; clock?: Clock } = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-e2e-'));
  const emDir = join(dir, 'emulator');
  const clock = over.clock ?? systemClock;
  let emulator = await startEmulator({ dir: emDir, clock });
  const thing = await emulator.createThing(THING);
  const device = makeDevice();
  const config = JSON.parse(readFileSync(device.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const snippet = thing.config as { agent: { connection: Record<string, unknown> } };
  config['device'] = { thingName: THING, deviceType: over.deviceType ?? 'test' };
  config['agent'] = {
    connection: { ...snippet.agent.connection, backoff: { baseMs: 200, maxMs: 2000 }, healthCheckMs: 1000, keepAliveSeconds: 10, stableAfterMs: 1000 },
    jobs: { updateBackoff: { baseMs: 200, maxMs: 2000 }, trialPollMs: 500, progressIntervalMs: 500 },
    update: { caPath: emulator.caPath, backoff: { baseMs: 100, maxMs: 1000 }, connectTimeoutMs: 5000, idleTimeoutMs: 5000, reserveBytes: 1024 * 1024 },
    ...over.agent,
  };
  // A reboot job asks the supervisor, which runs this stand-in: a new boot id, as after a reboot.
  config['supervisor'] = { ...config['supervisor'], rebootCommand: ['sh', '-c', `echo boot-$(date +%s%N) > ${device.paths.bootId}`], ...over.supervisor };
  writeFileSync(device.configPath, JSON.stringify(config, null, 2));
  const keys = generateKeyPair('ecdsa-p256');
  mkdirSync(device.paths.trustDir, { recursive: true });
  writeFileSync(join(device.paths.trustDir, 'release.pem'), keys.publicPem);

  const supervisor = await startSupervisor(device);
  const appPort = await freePort();
  const client = await supervisor.client();
  const events = await subscribe(client);
  const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '1.0.0', port: appPort });
  await client.request('activate', { slot, jobId: 'initial' });
  await events.next('committed');
  client.close();

  const agents: AgentProcess[] = [];
  t.after(async () => {
    for (const a of agents) if (a.child.exitCode === null && a.child.signalCode === null) await a.kill('SIGKILL');
    await teardown(device, rig.supervisor);
    await rig.emulator.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const upload = async (file: string, version: string, name: string): Promise<BundleInfo> => {
    const { size } = await rig.emulator.upload(file, `s3://releases/${name}`);
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    return { file, size, sha256, version, name, url: `\${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/releases/${name}}` };
  };
  let made = 0;
  let ports = {};
  const rig: Rig = {
    emulator, device, supervisor, appPort, dir,
    async bundle(version, opts = {}) {
      made += 1;
      const src = join(dir, `src-${made}`);
      mkdirSync(src, { recursive: true });
      const fixture = opts.fixture ?? 'healthy-http.mjs';
      for (const f of [fixture, 'serve.mjs']) copyFileSync(join(APPS, f), join(src, f));
      if (opts.padBytes) writeFileSync(join(src, 'pad.bin'), Buffer.alloc(opts.padBytes, 7));
      const file = join(dir, `bundle-${made}.tar`);
      await createBundle(src, {
        name: 'fixture', version, compatible: [over.deviceType ?? 'test'], createdAt: new Date(0).toISOString(),
        entrypoint: { command: [process.execPath, fixture], env: { PORT: String(appPort), APP_VERSION: version, ...opts.env } },
        health: opts.health ?? { http: { url: `http://127.0.0.1:${appPort}/health`, intervalMs: 100, timeoutMs: 500, failureThreshold: 2 } },
      }, createPrivateKey(keys.privatePem), file, { gzip: false });
      return upload(file, version, opts.name ?? `fixture-${version}-${made}.tar`);
    },
    startAgent: (crashAt) => startAgent(device, agents, crashAt),
    createJob(jobId, document, extra = {}) {
      rig.emulator.createJob({ jobId, targets: [`arn:aws:iot:us-east-1:123456789012:thing/${THING}`], document: JSON.stringify(document), ...extra });
    },
    execution: (jobId) => {
      try {
        return rig.emulator.describeJobExecution({ jobId, thingName: THING }).execution;
      } catch {
        return undefined;
      }
    },
    async restartEmulator() {
      await rig.stopEmulator();
      await rig.startEmulatorAgain();
    },
    async stopEmulator() {
      ports = { port: rig.emulator.port, controlPort: rig.emulator.controlPort, filesPort: rig.filesPort() };
      await rig.emulator.stop();
    },
    async startEmulatorAgain() {
      emulator = await startEmulator({ dir: emDir, clock, ...ports });
      rig.emulator = emulator;
    },
    observe: (filter) => observe(t, { ...thing, port: rig.emulator.port }, filter),
    presignedVia(bundle, port, expiresInSec = 3600) {
      const secret = Buffer.from(readFileSync(join(emDir, 'presign.key'), 'utf8').trim(), 'hex');
      return presignUrl(`https://127.0.0.1:${port}`, secret, { bucket: 'releases', key: bundle.name }, clock.now(), expiresInSec);
    },
    filesPort: () => Number(new URL(rig.emulator.filesUrl).port),
    async finalOf(jobId) {
      return waitFor(`terminal status of ${jobId}`, () => {
        const e = rig.execution(jobId);
        return e && !['QUEUED', 'IN_PROGRESS'].includes(String(e['status'])) ? e : undefined;
      });
    },
  };
  return rig;
}

/** The install document for a bundle. */
export function installDoc(b: BundleInfo, extra: Record<string, unknown> = {}): object {
  return { twinslot: 1, operation: 'install', version: b.version, bundle: { url: b.url, sha256: b.sha256, size: b.size }, ...extra };
}

async function startAgent(device: Device, all: AgentProcess[], crashAt?: string): Promise<AgentProcess> {
  const env = { ...process.env, ...(crashAt ? { TWINSLOT_CRASH_AT_PHASE: crashAt } : {}) };
  const child = spawn(process.execPath, [BIN, 'agent', '--root', device.root, '--config', device.configPath, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  const wakers = new Set<() => void>();
  onJsonLines(child.stderr, (record, line) => {
    logs.push(record ?? { event: 'non-json', line });
    for (const w of wakers) w();
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const agent: AgentProcess = {
    child, logs, exited,
    waitLog: (event, match = () => true) => waitFor(`agent log ${event}`, () => logs.find((l) => l['event'] === event && match(l))),
    kill: async (signal) => {
      child.kill(signal);
      if (signal === 'SIGTERM') {
        // A graceful stop logs agent-stopped and then exits by itself; give it a generous moment
        // to do so before treating it as stuck (a loaded machine may take a while).
        const stopped = agent.waitLog('agent-stopped').then(() => new Promise((resolve) => setTimeout(resolve, 10_000).unref()));
        await Promise.race([exited, stopped]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await exited;
    },
  };
  all.push(agent);
  await Promise.race([agent.waitLog('agent-started'), exited.then((e) => Promise.reject(new Error(`agent exited early: ${JSON.stringify(e)} ${JSON.stringify(logs.slice(-5))}`)))]);
  return agent;
}

function observe(t: Pick<TestContext, 'after'>, c: { port: number; caPath: string; certPath: string; keyPath: string }, filter: string): Promise<{ messages(topic: string): string[] }> {
  const args = ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(c.port), '--cafile', c.caPath, '--cert', c.certPath, '--key', c.keyPath];
  const child = spawn('mosquitto_sub', [...args, '-i', `observer-${process.pid}-${Math.random().toString(36).slice(2)}`, '-q', '1', '-t', filter, '-F', '%t %p'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => void child.kill('SIGTERM'));
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return Promise.resolve({ messages: (topic: string) => text.split('\n').filter((l) => l.startsWith(`${topic} `)).map((l) => l.slice(topic.length + 1)) });
}

/** Polls `check` until it returns a value, within a generous deadline. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** statusDetails of an execution as the control plane shows it ({detailsMap}). */
export function detailsOf(execution: Record<string, unknown>): Record<string, string> {
  const details = execution['statusDetails'] as { detailsMap?: Record<string, string> } | undefined;
  return details?.detailsMap ?? {};
}
