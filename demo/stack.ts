// Everything the demo runs, started in order and stopped in reverse: the emulator (Mosquitto,
// Jobs responder, HTTPS file server, in this process and its Mosquitto child), the device root,
// `twinslot supervisor` with v1.0.0 seeded and committed, the prober, and `twinslot agent`.
//
// INVARIANTS
// - Every process and server is registered for stop() the moment it exists, so an abort or a
//   failure at any step stops exactly what was started, newest first.
// - The temp root is removed only after everything that writes into it has stopped.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '../emulator/emulator.ts';
import { connectSupervisor } from '../ipc/client.ts';
import type { SupervisorEvent } from '../ipc/protocol.ts';
import { startChild, type Child } from './children.ts';
import { freePort, makeDevice, seedSlot, THING, type DeviceSetup } from './device.ts';
import { createProber, type Prober } from './prober.ts';
import { buildRelease, makeKey, releaseObject, type Release, type ReleaseSpec } from './releases.ts';
import type { Timeline } from './timeline.ts';

/** The link the file server imitates, so the download is long enough to watch. */
export const LINK_BYTES_PER_SECOND = 4 * 1024 * 1024;
const ASSET_BYTES = 3 * 1024 * 1024;

export interface Stack {
  root: string;
  emulator: EmulatorHandle;
  device: DeviceSetup;
  supervisor: Child;
  agent: Child;
  prober: Prober;
  releases: Release[];
  /** Stops everything started, newest first; removes the root unless `keep`. */
  stop(keep: boolean): Promise<void>;
}

export interface StackOptions {
  parentDir: string;
  timeline: Timeline;
  signal: AbortSignal;
  releases: ReleaseSpec[];
  onSupervisorEvent(event: SupervisorEvent): void;
}

/** Starts the whole demo stack; on failure or abort, stops what it started and rethrows. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const stops: Array<() => Promise<void>> = [];
  const root = await mkdtemp(join(opts.parentDir, 'twinslot-demo-'));
  const stop = async (keep: boolean): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
    if (!keep) await rm(root, { recursive: true, force: true });
  };
  try {
    return { ...(await build(opts, root, stops)), root, stop };
  } catch (err) {
    await stop(false);
    throw err;
  }
}

type Built = Omit<Stack, 'root' | 'stop'>;

async function build(opts: StackOptions, root: string, stops: Array<() => Promise<void>>): Promise<Built> {
  const { timeline, signal } = opts;
  const step = (text: string): void => { signal.throwIfAborted(); timeline.emit({ kind: 'step', text }); };
  step(`temp root ${root}`);
  const emulator = await startEmulator({ dir: join(root, 'emulator'), filesBytesPerSecond: LINK_BYTES_PER_SECOND });
  stops.push(() => emulator.stop());
  step(`emulator: Mosquitto (TLS, client certificates) on ${emulator.endpoint}:${emulator.port}, files on ${emulator.filesUrl} at ${LINK_BYTES_PER_SECOND / 1024 / 1024} MiB/s`);
  const thing = await emulator.createThing(THING);
  const key = makeKey();
  const appPort = await freePort();
  const connection = (thing.config as { agent: { connection: Record<string, unknown> } }).agent.connection;
  const device = await makeDevice(join(root, 'device'), connection, emulator.caPath, key.publicPem);
  step(`thing ${THING}: certificate issued; release key ${key.keyId.slice(0, 16)}… trusted by the device`);
  const releases: Release[] = [];
  for (const spec of opts.releases) {
    const built = await buildRelease(join(root, 'releases'), spec, key, appPort, ASSET_BYTES);
    const object = releaseObject(spec.version);
    await emulator.upload(built.file, object.s3);
    releases.push({ ...built, url: object.placeholder });
    step(`built and signed v${spec.version}${spec.flaw ? ` (${spec.flaw})` : ''}, ${(built.size / 1024 / 1024).toFixed(1)} MiB, uploaded as ${object.s3}`);
  }
  const supervisor = startChild('supervisor', ['supervisor', '--root', device.root, '--config', device.configPath]);
  stops.push(() => supervisor.stop(10_000));
  await supervisor.waitLog('supervisor-started', signal);
  const client = await connectSupervisor(device.paths.supervisorSocket);
  stops.push(() => Promise.resolve(client.close()));
  const waiters = new Map<string, Array<(e: SupervisorEvent) => void>>();
  await client.subscribe((event) => {
    for (const w of waiters.get(event.type) ?? []) w(event);
    waiters.delete(event.type);
    opts.onSupervisorEvent(event);
  });
  const nextEvent = (type: SupervisorEvent['type']): Promise<SupervisorEvent> => new Promise((resolve, reject) => {
    waiters.set(type, [...(waiters.get(type) ?? []), resolve]);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  step(`supervisor started (pid ${supervisor.pid}); seeding v${opts.releases[0]?.version ?? '?'} into an empty slot`);
  const initial = releases[0];
  if (!initial) throw new Error('no initial release');
  const slot = await seedSlot(client, device.paths, initial.file, nextEvent);
  const prober = createProber(`http://127.0.0.1:${appPort}/`, 20, () => Date.now());
  prober.start();
  stops.push(() => prober.stop());
  step(`v${initial.version} committed in slot ${slot}; prober GETs http://127.0.0.1:${appPort}/ every 20 ms`);
  const agent = startChild('agent', ['agent', '--root', device.root, '--config', device.configPath]);
  stops.push(() => agent.stop(10_000, 'agent-stopped'));
  await agent.waitLog('agent-started', signal);
  step(`agent started (pid ${agent.pid}), connecting to the emulator over MQTT/TLS`);
  return { emulator, device, supervisor, agent, prober, releases };
}
