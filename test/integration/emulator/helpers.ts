// Shared pieces of the emulator's integration tests: an emulator in a temp dir, an SDK client
// per thing (mqtt5.Mqtt5Client + iotjobs.IotJobsClientv2, exactly as a device uses them), a
// manual clock, and waiting for events with generous deadlines.

import { after, type TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iot, iotjobs, mqtt5 } from 'aws-iot-device-sdk-v2';
import type { Clock } from '../../../common/clock.ts';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../../../emulator/emulator.ts';

/**
 * The CRT MQTT client keeps the process alive after close() (aws-crt-nodejs issue #600), so a
 * test file that used it exits once its tests are done; a file whose loop empties exits anyway.
 */
export function exitAfterCrtTests(): void {
  after(() => {
    setTimeout(() => process.exit(), 1000).unref();
  });
}

/** A clock that moves only when the test says so; sleepers wake when their time has come. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { at: number; resolve: () => void }[] = [];
  constructor(start = Date.UTC(2024, 6, 2, 12, 0, 0)) { this.#now = start; }
  now(): number { return this.#now; }
  monotonic(): number { return this.#now; }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(new Error('aborted')); return; }
      const entry = { at: this.#now + ms, resolve };
      this.#sleepers.push(entry);
      signal?.addEventListener('abort', () => { this.#sleepers = this.#sleepers.filter((s) => s !== entry); reject(new Error('aborted')); }, { once: true });
    });
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.at <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.at > this.#now);
    for (const s of due) s.resolve();
  }
}

/** An emulator in a temp dir, stopped and removed when the test ends. */
export async function startTestEmulator(t: Pick<TestContext, 'after'>, options: Omit<EmulatorOptions, 'dir'> = {}): Promise<EmulatorHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-emulator-'));
  const emulator = await startEmulator({ ...options, dir });
  t.after(async () => {
    await emulator.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return emulator;
}

/** Polls `check` until it returns a value, failing after a generous deadline. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Device {
  client: mqtt5.Mqtt5Client;
  jobs: iotjobs.IotJobsClientv2;
  notify: unknown[];
  notifyNext: unknown[];
  close(): Promise<void>;
}

/** Connects a thing the way the SDK's jobs sample does and opens both event streams. */
export async function connectDevice(em: EmulatorHandle, thingName: string): Promise<Device> {
  const creds = await em.createThing(thingName);
  const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(em.endpoint, creds.certPath, creds.keyPath);
  builder.withCertificateAuthorityFromPath(undefined, creds.caPath).withPort(em.port)
    .withConnectProperties({ clientId: `test-${thingName}`, keepAliveIntervalSeconds: 1200 });
  const client = new mqtt5.Mqtt5Client(builder.build());
  client.on('error', () => undefined);
  const connected = once(client, 'connectionSuccess');
  client.start();
  await connected;
  const jobs = iotjobs.IotJobsClientv2.newFromMqtt5(client, { maxRequestResponseSubscriptions: 5, maxStreamingSubscriptions: 2, operationTimeoutInSeconds: 30 });
  const notify: unknown[] = [];
  const notifyNext: unknown[] = [];
  const changed = jobs.createJobExecutionsChangedStream({ thingName });
  const next = jobs.createNextJobExecutionChangedStream({ thingName });
  changed.on('incomingPublish', (e) => notify.push(e.message));
  next.on('incomingPublish', (e) => notifyNext.push(e.message));
  const streams = [changed, next];
  const established = streams.map((s) => once(s, 'subscriptionStatus'));
  for (const s of streams) s.open();
  await Promise.all(established);
  return {
    client, jobs, notify, notifyNext,
    close: async () => {
      for (const s of streams) s.close();
      jobs.close();
      const stopped = once(client, 'stopped');
      client.stop();
      await stopped;
      client.removeAllListeners();
      client.close();
    },
  };
}
