// startEmulator: the whole local AWS IoT Jobs on 127.0.0.1 — Mosquitto with TLS client
// certificates and per-thing ACLs, the Jobs responder, the HTTPS file server for presigned
// URLs and the control API. Everything lives under one directory, so stop/start keeps jobs.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../common/clock.ts';
import { messageOf } from '../common/errors.ts';
import { silentLogger, type Logger } from '../common/log.ts';
import { createPki, issueClientCert, type Pki } from './broker/pki.ts';
import { startMosquitto, type MosquittoHandle } from './broker/mosquitto.ts';
import { startFileServer } from './files/server.ts';
import { presignUrl, renderPresigned } from './files/presign.ts';
import { uploadObject } from './files/store.ts';
import { DEFAULT_SETTINGS, type EngineSettings, type Job, type OutMessage } from './jobs/model.ts';
import { JobsService } from './service.ts';
import { fileStateStore, loadState } from './state-store.ts';
import { RESPONDER_CN, startResponder } from './responder.ts';
import { createThing, type ThingCredentials } from './things.ts';
import { jobsControl, type JobsControl } from './jobs-control.ts';
import { startControlServer } from './control-api.ts';
import { controlOperations } from './operations.ts';
import type { Template } from './provisioning/fleet.ts';
import { PROVISIONING_CN } from './provisioning/responder.ts';
import { DEFAULT_TEMPLATES, provisioningAcl, provisioningResponderCert, startFleetService, type ClaimCredentials } from './provisioning/service.ts';

export interface EmulatorOptions {
  dir: string;
  /** MQTT port on 127.0.0.1 (a free one when omitted or 0). */
  port?: number;
  controlPort?: number;
  filesPort?: number;
  /** Caps the file server's rate per download (a slow link); unlimited when absent. */
  filesBytesPerSecond?: number;
  clock?: Clock;
  settings?: Partial<EngineSettings>;
  log?: Logger;
  /** Fleet provisioning templates by name (default: `twinslot-fleet`, thing name from `ThingName`). */
  provisioningTemplates?: Record<string, Template>;
  /** Mosquitto saves sessions on every change (default true); a load test may turn it off. */
  brokerSaveOnEveryChange?: boolean;
}

export interface EmulatorInfo { pid: number; endpoint: string; port: number; caPath: string; controlPort: number; filesUrl: string; dir: string }

export interface EmulatorHandle extends JobsControl {
  endpoint: string;
  port: number;
  caPath: string;
  dir: string;
  filesUrl: string;
  controlPort: number;
  info: EmulatorInfo;
  pki: Pki;
  /** The broker itself, for tests and benchmarks that restart or kill it. */
  broker: MosquittoHandle;
  createThing(name: string): Promise<ThingCredentials>;
  /** The fleet's claim certificate (made once) and the `provisioning` config section that uses it. */
  createClaim(): Promise<ClaimCredentials>;
  upload(file: string, s3Url: string): Promise<{ object: { bucket: string; key: string }; etag: string; size: number }>;
  /** Runs rollouts and timeouts now (after a test moved its clock). */
  tick(): void;
  stop(): Promise<void>;
}

async function secretOf(dir: string): Promise<Buffer> {
  const path = join(dir, 'presign.key');
  if (!existsSync(path)) await writeFile(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  return Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
}

async function lastPorts(dir: string): Promise<{ mqtt?: number; files?: number }> {
  try {
    return JSON.parse(await readFile(join(dir, 'ports.json'), 'utf8')) as { mqtt?: number; files?: number };
  } catch {
    return {};
  }
}

/** Starts every part of the emulator; stop() ends them in reverse order. */
export async function startEmulator(opts: EmulatorOptions): Promise<EmulatorHandle> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger();
  const settings: EngineSettings = { ...DEFAULT_SETTINGS, ...opts.settings };
  await mkdir(opts.dir, { recursive: true });
  const pki = await createPki(join(opts.dir, 'pki'));
  const responderCert = join(opts.dir, 'pki', 'clients', `${RESPONDER_CN}.crt`);
  if (!existsSync(responderCert)) await issueClientCert(pki, RESPONDER_CN);
  await provisioningResponderCert(pki);
  // Things keep the port in their config, so a restart reuses the last one unless told otherwise.
  const last = await lastPorts(opts.dir);
  const mqttPort = opts.port || last.mqtt;
  const broker = await startMosquitto({ dir: join(opts.dir, 'broker'), pki, privileged: [RESPONDER_CN, PROVISIONING_CN], aclExtra: await provisioningAcl(opts.dir),
    ...(mqttPort ? { port: mqttPort } : {}), ...(opts.brokerSaveOnEveryChange === false ? { saveOnEveryChange: false } : {}) });
  const secret = await secretOf(opts.dir);
  const files = await startFileServer({ root: opts.dir, secret, clock, certPath: pki.serverCert, keyPath: pki.serverKey, bytesPerSecond: opts.filesBytesPerSecond, ...((opts.filesPort || last.files) ? { port: opts.filesPort || last.files } : {}) });
  await writeFile(join(opts.dir, 'ports.json'), JSON.stringify({ mqtt: broker.port, files: files.port }));
  const renderDocument = (job: Job, now: number): unknown => JSON.parse(renderPresigned(job.document, (o) =>
    presignUrl(files.baseUrl, secret, o, now, job.presignedUrlConfig?.expiresInSec ?? 3600)));
  let publish: (messages: OutMessage[]) => void = () => undefined;
  const service = new JobsService({
    clock, settings, log, renderDocument, initial: await loadState(opts.dir),
    store: fileStateStore(opts.dir, (err) => log.error({ event: 'state-write-failed', err: messageOf(err) }, 'could not save jobs state')),
    publish: (messages) => publish(messages),
  });
  const responder = await startResponder({
    host: broker.host, port: broker.port, caPath: pki.caCert, certPath: responderCert,
    keyPath: join(opts.dir, 'pki', 'clients', `${RESPONDER_CN}.key`), log,
    onRequest: (topic, payload) => service.device(topic, payload),
  });
  publish = (messages) => responder.publish(messages);
  service.start();
  const control = jobsControl(service);
  // `openssl ca` keeps its serial and index in files: one issue at a time.
  let issuing: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(issue: () => Promise<T>): Promise<T> => {
    const next = issuing.then(issue);
    issuing = next.catch(() => undefined);
    return next;
  };
  const fleet = await startFleetService({ dir: opts.dir, pki, broker, templates: opts.provisioningTemplates ?? DEFAULT_TEMPLATES, exclusive, log });
  const parts = {
    createThing: (name: string): Promise<ThingCredentials> => exclusive(() => createThing(opts.dir, pki, name, broker.port)),
    createClaim: () => fleet.createClaim(),
    upload: (file: string, url: string) => uploadObject(opts.dir, file, url),
  };
  const controlServer = await startControlServer(controlOperations(control, parts), opts.controlPort ?? 0);
  const info: EmulatorInfo = { pid: process.pid, endpoint: broker.host, port: broker.port, caPath: pki.caCert, controlPort: controlServer.port, filesUrl: files.baseUrl, dir: opts.dir };
  await writeFile(join(opts.dir, 'emulator.json'), `${JSON.stringify(info, null, 2)}\n`);
  log.info({ event: 'emulator-started', ...info }, 'emulator started');
  return {
    ...control, ...parts, info, pki, broker, endpoint: broker.host, port: broker.port, caPath: pki.caCert, dir: opts.dir, filesUrl: files.baseUrl,
    controlPort: controlServer.port,
    tick: () => service.tick(),
    stop: async () => {
      await rm(join(opts.dir, 'emulator.json'), { force: true });
      await controlServer.close();
      await service.stop();
      await responder.stop();
      await fleet.stop();
      await files.close();
      await broker.stop();
    },
  };
}
