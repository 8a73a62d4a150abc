// The cloud side of the update scenarios, on the host: the emulator (broker, Jobs, presigned
// HTTPS files on 127.0.0.1), one thing with its certificate, a release signing key, signed
// bundles of a tiny shell app, and jobs with their execution status.

import { createPrivateKey } from 'node:crypto';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBundle } from '../../../bundle/create.ts';
import { generateKeyPair } from '../../../bundle/keys.ts';
import type { HealthSpec } from '../../../bundle/manifest-types.ts';
import { CodedError } from '../../../common/errors.ts';
import { startEmulator, type EmulatorHandle } from '../../../emulator/emulator.ts';

export const THING = 'vm-1';
export const DEVICE_TYPE = 'vm-x64';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED']);

/** good: runs until stopped; bad: exits 3 a second after it starts (the trial must roll back). */
export type AppKind = 'good' | 'bad';

export interface BundleInfo { file: string; version: string; sha256: string; size: number; url: string }

export interface Fleet {
  emulator: EmulatorHandle;
  /** Host files the device needs: its certificate and key, the broker's CA, the release key. */
  credentials: { cert: string; key: string; ca: string; trust: string };
  /** Ports the guest must reach at its own 127.0.0.1 (MQTT, presigned file URLs). */
  loopback: number[];
  bundle(version: string, kind?: AppKind, padBytes?: number): Promise<BundleInfo>;
  /** Creates a job for the thing; `timeoutMinutes` is the in-progress timeout. */
  createJob(jobId: string, document: object, timeoutMinutes?: number): void;
  execution(jobId: string): Execution | undefined;
  /** Waits (generously) until the execution of `jobId` is terminal. */
  final(jobId: string, timeoutMs?: number): Promise<Execution>;
}

export interface Execution { status: string; details: Record<string, string> }

const APP = {
  good: '#!/bin/sh\necho "vm-app $APP_VERSION running"\nexec sleep 1000000\n',
  bad: '#!/bin/sh\necho "vm-app $APP_VERSION failing"\nsleep 1\nexit 3\n',
};

/** Starts the emulator for test `t` (stopped and removed afterwards) with one thing. */
export async function startFleet(t: Pick<TestContext, 'after'>, opts: { filesBytesPerSecond?: number } = {}): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-fleet-'));
  const emulator = await startEmulator({ dir: join(dir, 'emulator'), ...opts });
  t.after(async () => {
    await emulator.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const thing = await emulator.createThing(THING);
  const keys = generateKeyPair('ecdsa-p256');
  const trust = join(dir, 'release.pem');
  await writeFile(trust, keys.publicPem);
  let made = 0;
  const fleet: Fleet = {
    emulator,
    credentials: { cert: thing.certPath, key: thing.keyPath, ca: emulator.caPath, trust },
    loopback: [emulator.port, Number(new URL(emulator.filesUrl).port)],
    async bundle(version, kind = 'good', padBytes = 0) {
      made += 1;
      const src = join(dir, `src-${made}`);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'app.sh'), APP[kind], { mode: 0o755 });
      if (padBytes > 0) await writeFile(join(src, 'pad.bin'), Buffer.alloc(padBytes, made));
      const file = join(dir, `bundle-${made}.tar`);
      const health: HealthSpec = { startTimeoutSeconds: 60, probationSeconds: 3 };
      await createBundle(src, {
        name: 'vm-app', version, compatible: [DEVICE_TYPE], createdAt: new Date(0).toISOString(),
        entrypoint: { command: ['/bin/sh', 'app.sh'], env: { APP_VERSION: version } }, health,
      }, createPrivateKey(keys.privatePem), file, { gzip: false });
      const name = `vm-app-${version}-${made}.tar`;
      const { size } = await emulator.upload(file, `s3://releases/${name}`);
      const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
      return { file, version, sha256, size, url: `\${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/releases/${name}}` };
    },
    createJob(jobId, document, timeoutMinutes = 30) {
      emulator.createJob({
        jobId, targets: [THING], document: JSON.stringify(document),
        timeoutConfig: { inProgressTimeoutInMinutes: timeoutMinutes },
      });
    },
    execution(jobId) {
      try {
        const e = emulator.describeJobExecution({ jobId, thingName: THING }).execution;
        const details = (e['statusDetails'] as { detailsMap?: Record<string, string> } | undefined)?.detailsMap ?? {};
        return { status: String(e['status']), details };
      } catch {
        return undefined;
      }
    },
    async final(jobId, timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = fleet.execution(jobId);
        if (e && TERMINAL.has(e.status)) return e;
        if (Date.now() > deadline) throw new CodedError('RIG_TIMEOUT', `job ${jobId} not terminal after ${timeoutMs / 1000} s: ${JSON.stringify(e)}`);
        await sleep(200);
      }
    },
  };
  return fleet;
}

/** The install document of `b`. */
export function installDoc(b: BundleInfo): object {
  return { twinslot: 1, operation: 'install', version: b.version, bundle: { url: b.url, sha256: b.sha256, size: b.size } };
}
