// The demo's device: a root in the temp dir laid out like /, its config (thing certificates
// from the emulator, a short probation, no hardware watchdog), the release key it trusts, and
// v1.0.0 seeded into slot a through the supervisor's IPC as an installer would: prepare-slot,
// verified extract of a signed bundle, slot-ready, activate, committed.

import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { devicePaths, type DevicePaths } from '../slots/paths.ts';
import { installBundle, loadTrust } from '../bundle/index.ts';
import type { SupervisorClient } from '../ipc/client.ts';
import type { SupervisorEvent } from '../ipc/protocol.ts';

export const THING = 'demo-device';
export const DEVICE_TYPE = 'demo-board';
/** Short enough for a one-minute demo, long enough to catch a release that breaks after starting. */
export const PROBATION_SECONDS = 3;

export interface DeviceSetup {
  root: string;
  paths: DevicePaths;
  configPath: string;
}

/** A free loopback TCP port (for the sample app). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Lays out the device root and writes its config; `agentConnection` is the emulator's snippet for the thing. */
export async function makeDevice(root: string, agentConnection: Record<string, unknown>, caPath: string, publicPem: string): Promise<DeviceSetup> {
  const paths = devicePaths(root);
  for (const dir of [paths.configDir, paths.trustDir, paths.slot('a'), paths.slot('b'), join(root, 'proc', 'sys', 'kernel', 'random')]) await mkdir(dir, { recursive: true });
  // The real boot id: the supervisor tells a restart from a reboot by it.
  await writeFile(paths.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  await writeFile(join(paths.trustDir, 'release.pem'), publicPem);
  const config = {
    device: { thingName: THING, deviceType: DEVICE_TYPE },
    supervisor: {
      watchdog: { device: 'none' },
      trial: { attempts: 2, loopLimit: 10 },
      rebootCommand: ['false'],
      stopTimeoutMs: 3000,
      backoff: { initialMs: 200, factor: 1.5, maxMs: 2000, stableMs: 10_000 },
      // The demo's temp root is private to whoever runs it: run as root, the sample app is root too.
      allowRootApps: true,
    },
    ...(process.getuid?.() === 0 ? { app: { user: 'root' } } : {}),
    health: { startTimeoutSeconds: 10, probationSeconds: PROBATION_SECONDS },
    agent: {
      connection: { ...agentConnection, backoff: { baseMs: 200, maxMs: 2000 }, healthCheckMs: 1000, keepAliveSeconds: 10, stableAfterMs: 1000 },
      jobs: { updateBackoff: { baseMs: 200, maxMs: 2000 }, trialPollMs: 250, progressIntervalMs: 250 },
      update: { caPath, backoff: { baseMs: 100, maxMs: 1000 }, connectTimeoutMs: 5000, idleTimeoutMs: 5000, reserveBytes: 1024 * 1024 },
    },
  };
  await writeFile(paths.config, `${JSON.stringify(config, null, 2)}\n`);
  return { root, paths, configPath: paths.config };
}

/** Installs the signed bundle `file` into the inactive slot and commits it (the factory image). */
export async function seedSlot(client: SupervisorClient, paths: DevicePaths, file: string, nextEvent: (type: SupervisorEvent['type']) => Promise<SupervisorEvent>): Promise<string> {
  const { slot, path } = await client.request('prepare-slot');
  await installBundle(createReadStream(file), { targetDir: path, trust: await loadTrust(paths.trustDir), deviceType: DEVICE_TYPE });
  await client.request('slot-ready', { slot });
  const committed = nextEvent('committed');
  await client.request('activate', { slot, jobId: 'factory-image' });
  await committed;
  return slot;
}
