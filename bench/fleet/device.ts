// One simulated device: an MQTT.js client with the thing's own TLS client certificate and a
// lightweight job loop modelled on the agent's: start-next on connect and on notify-next,
// download the bundle from the presigned URL and check its sha256, report IN_PROGRESS, then
// SUCCEEDED, then ask for the next job. Reconnects with full-jitter backoff (common/backoff.ts).
//
// INVARIANTS
// - At most one request is outstanding; it is re-sent (same clientToken) after a reconnect or
//   when no reply came for REQUEST_TIMEOUT_MS, and replies with another token are ignored.
// - A job is started at most once per device: a job already done or running is never run again,
//   and a done job offered again is reported as a duplicate.

import mqtt, { type MqttClient } from 'mqtt';
import { fullJitter } from '../../common/backoff.ts';
import { messageOf } from '../../common/errors.ts';
import { downloadSha256 } from './download.ts';

const RECONNECT = { baseMs: 1000, maxMs: 30_000 };
export const REQUEST_TIMEOUT_MS = 10_000;

export interface DeviceEvents {
  connected(attempts: number): void;
  reconnected(): void;
  connectFailed(error: string): void;
  jobStarted(jobId: string): void;
  jobDone(jobId: string): void;
  jobDuplicate(jobId: string): void;
  jobError(jobId: string, error: string): void;
}

export interface DeviceOptions { thing: string; port: number; ca: Buffer; cert: Buffer; key: Buffer; events: DeviceEvents }

interface Pending { token: string; topic: string; body: Record<string, unknown>; sentAt: number }
interface Execution { jobId: string; jobDocument?: { bundle?: { url?: string; sha256?: string; size?: number } } }
type Reply = { clientToken?: string; execution?: Execution; code?: string; executionState?: { status?: string } };

/** A simulated device; start() connects it, stop() ends it. */
export class SimDevice {
  readonly thing: string;
  #opts: DeviceOptions;
  #client: MqttClient | undefined;
  #prefix: string;
  #attempt = 0;
  #everConnected = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #seq = 0;
  #pending: Pending | undefined;
  #current: { jobId: string; downloading: boolean } | undefined;
  #done = new Set<string>();
  retries = 0;

  constructor(opts: DeviceOptions) {
    this.thing = opts.thing;
    this.#opts = opts;
    this.#prefix = `$aws/things/${opts.thing}/jobs`;
  }

  get connected(): boolean { return this.#client?.connected ?? false; }

  start(): void {
    const { ca, cert, key, port, thing } = this.#opts;
    const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      ca, cert, key, rejectUnauthorized: true, protocolVersion: 5, clientId: thing, clean: false,
      properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0, connectTimeout: 30_000, keepalive: 60,
    });
    this.#client = client;
    client.on('connect', (ack) => this.#onConnect(ack.sessionPresent));
    client.on('close', () => this.#scheduleReconnect());
    client.on('error', (err) => { if (!this.#everConnected) this.#opts.events.connectFailed(messageOf(err)); });
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    await this.#client?.endAsync(true).catch(() => undefined);
  }

  /** Re-sends the outstanding request when its reply is overdue. */
  checkOverdue(now: number): void {
    if (this.#pending && this.connected && now - this.#pending.sentAt > REQUEST_TIMEOUT_MS) {
      this.retries++;
      this.#send(this.#pending);
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnectTimer) return;
    const delay = fullJitter(RECONNECT, this.#attempt++);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopped) this.#client?.reconnect();
    }, delay);
  }

  #onConnect(sessionPresent: boolean): void {
    const attempts = this.#attempt + 1;
    this.#attempt = 0;
    if (this.#everConnected) this.#opts.events.reconnected();
    else this.#opts.events.connected(attempts);
    this.#everConnected = true;
    const kick = (): void => {
      if (this.#pending) this.#send(this.#pending);
      else if (!this.#current) this.#startNext();
    };
    if (sessionPresent) { kick(); return; }
    const filters = [`${this.#prefix}/notify-next`, `${this.#prefix}/start-next/+`, `${this.#prefix}/+/update/+`];
    this.#client?.subscribeAsync(filters, { qos: 1 }).then(kick, () => undefined);
  }

  #request(topic: string, body: Record<string, unknown>): void {
    const token = `${this.thing}:${++this.#seq}`;
    this.#pending = { token, topic, body: { ...body, clientToken: token }, sentAt: 0 };
    this.#send(this.#pending);
  }

  #send(p: Pending): void {
    p.sentAt = Date.now();
    this.#client?.publish(p.topic, JSON.stringify(p.body), { qos: 1 }, () => undefined);
  }

  #startNext(): void {
    this.#request(`${this.#prefix}/start-next`, {});
  }

  #onMessage(topic: string, payload: Buffer): void {
    let body: Reply;
    try {
      body = JSON.parse(payload.toString()) as Reply;
    } catch {
      return;
    }
    if (topic.endsWith('/notify-next')) {
      if (body.execution && !this.#pending && !this.#current && !this.#done.has(body.execution.jobId)) this.#startNext();
      return;
    }
    if (!this.#pending || body.clientToken !== this.#pending.token) return;
    const request = this.#pending;
    this.#pending = undefined;
    if (topic.endsWith('/start-next/accepted')) this.#onStartNext(body.execution);
    else if (topic.endsWith('/start-next/rejected')) setTimeout(() => { if (!this.#pending && !this.#current) this.#startNext(); }, 1000 + fullJitter(RECONNECT, 0));
    else if (topic.endsWith('/update/accepted')) this.#onUpdated(String(request.body['status']));
    else if (topic.endsWith('/update/rejected')) this.#onUpdateRejected(String(request.body['status']), body);
  }

  #onStartNext(execution: Execution | undefined): void {
    if (!execution) return;
    const { jobId } = execution;
    if (this.#done.has(jobId)) { this.#opts.events.jobDuplicate(jobId); return; }
    if (this.#current?.jobId === jobId) return;
    this.#current = { jobId, downloading: true };
    this.#opts.events.jobStarted(jobId);
    void this.#download(jobId, execution.jobDocument?.bundle ?? {});
  }

  async #download(jobId: string, bundle: { url?: string; sha256?: string; size?: number }): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const got = await downloadSha256(bundle.url ?? '', this.#opts.ca);
        if (got.sha256 !== bundle.sha256 || got.size !== bundle.size) throw new Error(`bundle mismatch: ${got.size} bytes, sha256 ${got.sha256}`);
        break;
      } catch (err) {
        if (attempt >= 4 || this.#stopped) {
          this.#opts.events.jobError(jobId, messageOf(err));
          this.#request(`${this.#prefix}/${jobId}/update`, { status: 'FAILED', statusDetails: { reason: 'DOWNLOAD_FAILED' } });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, fullJitter(RECONNECT, attempt)));
      }
    }
    if (this.#current) this.#current.downloading = false;
    this.#request(`${this.#prefix}/${jobId}/update`, { status: 'IN_PROGRESS', statusDetails: { step: 'downloaded' } });
  }

  #onUpdated(status: string): void {
    const jobId = this.#current?.jobId;
    if (!jobId) return;
    if (status === 'IN_PROGRESS') {
      this.#request(`${this.#prefix}/${jobId}/update`, { status: 'SUCCEEDED', statusDetails: { step: 'committed' } });
      return;
    }
    this.#finish(jobId, status === 'SUCCEEDED');
  }

  #onUpdateRejected(status: string, body: Reply): void {
    const jobId = this.#current?.jobId;
    if (!jobId) return;
    // A SUCCEEDED update re-sent after a lost reply finds the execution already terminal.
    if (body.executionState?.status === status && status !== 'IN_PROGRESS') { this.#finish(jobId, status === 'SUCCEEDED'); return; }
    this.#opts.events.jobError(jobId, `update ${status} rejected: ${body.code ?? 'unknown'}`);
    this.#finish(jobId, false);
  }

  #finish(jobId: string, ok: boolean): void {
    this.#done.add(jobId);
    this.#current = undefined;
    if (ok) this.#opts.events.jobDone(jobId);
    this.#startNext();
  }
}
