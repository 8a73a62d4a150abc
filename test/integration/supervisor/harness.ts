// Test-side helpers for the supervisor: a device root in a temp dir (config with the recording
// watchdog journaled to a file, a boot_id file), slots filled with fixture apps, the supervisor
// started as a real child process through bin/twinslot.js, its JSON log lines, and HTTP checks.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { onJsonLines } from '../../../common/json-lines.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { devicePaths, type DevicePaths, type SlotName } from '../../../slots/paths.ts';
import type { HealthSpec, Manifest } from '../../../bundle/manifest-types.ts';
import { SlotStore } from '../../../slots/store.ts';
import { initialState } from '../../../slots/state.ts';
import { silentLogger } from '../../../common/log.ts';
import { connectSupervisor, type SupervisorClient } from '../../../ipc/client.ts';
import type { SupervisorEvent } from '../../../ipc/protocol.ts';
import { SUPERVISOR_V8_FLAGS } from '../../../supervisor/lean-runtime.ts';
import { signManifest } from '../../../bundle/signature.ts';

export const DEADLINE_MS = 60_000;
const REPO = join(import.meta.dirname, '..', '..', '..');
const APPS = join(REPO, 'test', 'fixtures', 'apps');
const BIN = join(REPO, 'bin', 'twinslot.js');

export interface Device {
  root: string;
  paths: DevicePaths;
  configPath: string;
  watchdogJournal: string;
  rebootMarker: string;
  setBootId(id: string): void;
  cleanup(): void;
}

/** A device root; `supervisor` and `health` override the test defaults (short probation, fast backoff). */
export function makeDevice(over: { supervisor?: Record<string, unknown>; health?: HealthSpec; app?: Record<string, unknown> } = {}): Device {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-sup-'));
  const paths = devicePaths(root);
  for (const dir of [paths.configDir, paths.trustDir, paths.slot('a'), paths.slot('b'), join(root, 'proc', 'sys', 'kernel', 'random')]) mkdirSync(dir, { recursive: true });
  // The device trusts one key; fillSlot signs every manifest with it, as `bundle create` would.
  const keys = generateKeyPairSync('ed25519');
  writeFileSync(join(paths.trustDir, 'test.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(signingKeyFile(paths), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const watchdogJournal = join(root, 'watchdog.jsonl');
  const rebootMarker = join(root, 'rebooted');
  const config = {
    device: { thingName: 'test-thing', deviceType: 'test' },
    supervisor: {
      watchdog: { device: 'recording', recordFile: watchdogJournal, timeoutSeconds: 3, maxLagMs: 500 },
      trial: { attempts: 3, loopLimit: 10 },
      rebootCommand: ['touch', rebootMarker],
      stopTimeoutMs: 3000,
      backoff: { initialMs: 100, factor: 1.5, maxMs: 1000, stableMs: 10_000 },
      crashLoop: { restarts: 4, windowMs: 30_000 },
      // The temp root is private (0700): fixture apps run as the test's own user (root in CI).
      allowRootApps: true,
      ...over.supervisor,
    },
    ...(process.getuid?.() === 0 ? { app: over.app ?? { user: 'root' } } : {}),
    health: { startTimeoutSeconds: 15, probationSeconds: 1, ...over.health },
  };
  const configPath = paths.config;
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const setBootId = (id: string): void => writeFileSync(paths.bootId, `${id}\n`);
  setBootId('boot-1');
  return { root, paths, configPath, watchdogJournal, rebootMarker, setBootId, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A device whose slot a holds `fixture` as 1.0.0, committed, as the installer would leave it. */
export function committedDevice(over: Parameters<typeof makeDevice>[0] = {}, fixture = 'healthy-http.mjs', env: Record<string, string> = {}): { device: Device; port: Promise<number> } {
  const device = makeDevice(over);
  const port = freePort().then((p) => {
    fillSlot(device.paths, 'a', { fixture, version: '1.0.0', port: p, env });
    const store = new SlotStore(device.paths, silentLogger());
    const state = initialState('a');
    state.slots.a = { status: 'ready', version: '1.0.0', manifestSha256: slotManifestDigest(device.paths, 'a') };
    store.save(state);
    store.flipCurrent('a');
    return p;
  });
  return { device, port };
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  return port;
}

export interface AppChoice {
  fixture: string;
  version: string;
  port: number;
  env?: Record<string, string>;
  health?: HealthSpec;
  /** `entrypoint.user` of the manifest. */
  user?: string;
  /** Break the manifest (slot-ready must refuse it). */
  corrupt?: boolean;
  /** More entries, written and listed in the manifest. */
  tree?: TreeEntry[];
}

export type TreeEntry = { type: 'file'; path: string; content: string | Buffer; mode?: number } | { type: 'dir'; path: string; mode?: number } | { type: 'symlink'; path: string; target: string };

/** The sha256 of the manifest a filled slot holds, as slot-ready records it. */
export function slotManifestDigest(paths: DevicePaths, slot: SlotName): string {
  return createHash('sha256').update(readFileSync(join(paths.slot(slot), 'manifest.json'))).digest('hex');
}

/** The private key of the device's test signer (outside the slots and the trust directory). */
function signingKeyFile(paths: DevicePaths): string {
  return join(paths.root, 'signing-key.pem');
}

/** Signs `manifest` bytes with the device's test key, as `bundle create --key` does. */
export function signForDevice(paths: DevicePaths, manifest: Uint8Array): Buffer {
  return signManifest(manifest, createPrivateKey(readFileSync(signingKeyFile(paths))));
}

/** Fills `slot` with a fixture app, its manifest.json and manifest.sig, as the agent's installer would. */
export function fillSlot(paths: DevicePaths, slot: SlotName, app: AppChoice): void {
  const dir = paths.slot(slot);
  const files: Manifest['files'] = [];
  for (const name of [app.fixture, 'serve.mjs']) {
    copyFileSync(join(APPS, name), join(dir, name));
    const bytes = readFileSync(join(dir, name));
    files.push({ type: 'file', path: name, size: bytes.length, mode: 0o644, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  for (const e of app.tree ?? []) {
    const full = join(dir, e.path);
    if (e.type === 'dir') {
      mkdirSync(full, { recursive: true });
      files.push({ type: 'dir', path: e.path, mode: e.mode ?? 0o755 });
    } else if (e.type === 'symlink') {
      symlinkSync(e.target, full);
      files.push({ type: 'symlink', path: e.path, target: e.target });
    } else {
      writeFileSync(full, e.content);
      const bytes = readFileSync(full);
      files.push({ type: 'file', path: e.path, size: bytes.length, mode: e.mode ?? 0o644, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  }
  const manifest: Manifest = {
    format: 1, name: 'fixture', version: app.version, compatible: [], createdAt: new Date(0).toISOString(), files,
    entrypoint: { command: [process.execPath, app.fixture], env: { PORT: String(app.port), APP_VERSION: app.version, ...app.env }, ...(app.user === undefined ? {} : { user: app.user }) },
    health: { http: { url: `http://127.0.0.1:${app.port}/health`, intervalMs: 100, timeoutMs: 500, failureThreshold: 2 }, ...app.health },
  };
  const bytes = Buffer.from(app.corrupt ? '{"format":1,"name":' : `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'manifest.sig'), signForDevice(paths, bytes));
  writeFileSync(join(dir, 'manifest.json'), bytes);
}

export interface RunningSupervisor {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  waitLog(event: string, match?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  client(): Promise<SupervisorClient>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Extra environment for the supervisor process (on top of the test's own). */
export interface LaunchOptions {
  env?: Record<string, string>;
  /** A command the supervisor is started through (e.g. one that places it in a cgroup first). */
  prefix?: string[];
}

/** Starts `twinslot supervisor` for `device` and waits until its socket answers. */
export async function startSupervisor(device: Device, opts: LaunchOptions = {}): Promise<RunningSupervisor> {
  const sup = launchSupervisor(device, opts);
  await Promise.race([sup.waitLog('supervisor-started'), sup.exited.then((e) => Promise.reject(new Error(`supervisor exited early: ${JSON.stringify(e)} ${JSON.stringify(sup.logs.slice(-5))}`)))]);
  return sup;
}

/** Spawns `twinslot supervisor` for `device` without waiting for anything (start-up failures). */
export function launchSupervisor(device: Device, opts: LaunchOptions = {}): RunningSupervisor {
  const env = { ...process.env, ...opts.env };
  // With the V8 flags the release launcher gives the supervisor (supervisor/lean-runtime.ts).
  const argv = [...(opts.prefix ?? []), process.execPath, ...SUPERVISOR_V8_FLAGS, BIN, 'supervisor', '--root', device.root, '--config', device.configPath];
  const child = spawn(argv[0] ?? process.execPath, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
  const logs: Record<string, unknown>[] = [];
  const wakers = new Set<() => void>();
  onJsonLines(child.stderr, (record, line) => {
    logs.push(record ?? { event: 'non-json', line });
    for (const w of wakers) w();
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const waitLog = (event: string, match: (l: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> =>
    waitUntil(() => logs.find((l) => l.event === event && match(l)), wakers, `log ${event}`);
  return { child, logs, waitLog, client: () => connectSupervisor(device.paths.supervisorSocket), exited };
}

/** SIGKILLs the supervisor and the app group it left, as a power cut would (the caller decides which). */
export async function killSupervisor(sup: RunningSupervisor): Promise<void> {
  sup.child.kill('SIGKILL');
  await sup.exited;
}

/** Resolves with the first value `probe` returns that is not undefined, re-checked on every wake. */
export function waitUntil<T>(probe: () => T | undefined, wakers: Set<() => void>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const v = probe();
      if (v === undefined) return false;
      cleanup();
      resolve(v);
      return true;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${what} before the deadline`));
    }, DEADLINE_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      wakers.delete(wake);
    };
    const wake = (): void => void check();
    if (check()) return;
    wakers.add(wake);
  });
}

/** Collects events from a subscribed client; `next(type)` waits for the first of that type not yet taken. */
export async function subscribe(client: SupervisorClient): Promise<{ events: SupervisorEvent[]; next<T extends SupervisorEvent['type']>(type: T): Promise<Extract<SupervisorEvent, { type: T }>> }> {
  const events: SupervisorEvent[] = [];
  const wakers = new Set<() => void>();
  let taken = 0;
  await client.subscribe((e) => {
    events.push(e);
    for (const w of wakers) w();
  });
  return {
    events,
    next: (type) =>
      waitUntil(() => {
        const i = events.findIndex((e, n) => n >= taken && e.type === type);
        if (i < 0) return undefined;
        taken = i + 1;
        return events[i] as Extract<SupervisorEvent, { type: typeof type }>;
      }, wakers, `event ${type}`),
  };
}

/** GET http://127.0.0.1:port/ → body, or null when nothing answers. */
export function httpGet(port: number, path = '/'): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

/** Polls until GET / answers `version` (or the deadline passes). */
export async function waitForVersion(port: number, version: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if ((await httpGet(port)) === version) return;
    await sleep(50);
  }
  throw new Error(`version ${version} never answered on ${port}`);
}

/** Installs `app` through IPC (prepare-slot, fill, slot-ready) and returns the slot. */
export async function install(client: SupervisorClient, paths: DevicePaths, app: AppChoice): Promise<SlotName> {
  const { slot } = await client.request('prepare-slot');
  fillSlot(paths, slot, app);
  await client.request('slot-ready', { slot });
  return slot;
}

export function readJournal(device: Device): Array<{ op: string; at: number }> {
  if (!existsSync(device.watchdogJournal)) return [];
  return readFileSync(device.watchdogJournal, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; at: number });
}

/** Kills the app group the supervisor recorded (after a SIGKILL of the supervisor, the app lives on). */
export function killRecordedApp(device: Device): void {
  try {
    const { pgid } = JSON.parse(readFileSync(device.paths.appRecord, 'utf8')) as { pgid: number };
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // no record or already gone
  }
}

/** Test teardown: the supervisor, any app it left, the temp root. */
export async function teardown(device: Device, sup: RunningSupervisor | null): Promise<void> {
  if (sup && sup.child.exitCode === null && sup.child.signalCode === null) {
    sup.child.kill('SIGKILL');
    await sup.exited;
  }
  killRecordedApp(device);
  device.cleanup();
}
