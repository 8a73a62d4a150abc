// JobsApi over the SDK's IotJobsClientv2. The connection makes a new Mqtt5Client for each
// connection attempt, and a service client binds to one protocol client, so a new
// IotJobsClientv2 (with its notify and notify-next streams) is made for every new client.

// The jobs client module alone: the SDK's root module loads every service client (~+10 MiB).
import { IotJobsClientv2 } from 'aws-iot-device-sdk-v2/dist/iotjobs/iotjobsclientv2.js';
import type { JobStatus } from 'aws-iot-device-sdk-v2/dist/iotjobs/model.js';
import type { mqtt5 } from 'aws-crt';
import { mqtt_request_response } from 'aws-crt';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { JobsRejected, JobsUnavailable, parseExecution, type JobsApi, type RemoteExecution, type UpdateRequest } from './jobs-api.ts';

/** Where the live MQTT client comes from. */
export interface MqttClientSource {
  /** The client while connected, else undefined. */
  current(): mqtt5.Mqtt5Client | undefined;
  /** Called after every successful connection. */
  onConnected(listener: (rejoinedSession: boolean) => void): () => void;
}

type Stream = { close(): void };

/** The SDK-backed Jobs client; call start() once connected events can arrive, stop() at the end. */
export class SdkJobsApi implements JobsApi {
  readonly #thingName: string;
  readonly #source: MqttClientSource;
  readonly #log: Logger;
  readonly #timeoutSeconds: number;
  #bound: { client: mqtt5.Mqtt5Client; jobs: IotJobsClientv2; streams: Stream[] } | undefined;
  #off: (() => void) | undefined;
  readonly #next = new Set<(next: RemoteExecution | null) => void>();
  readonly #pending = new Set<(ids: ReadonlySet<string>) => void>();
  readonly #resync = new Set<() => void>();

  constructor(thingName: string, source: MqttClientSource, log: Logger, operationTimeoutSeconds = 30) {
    this.#thingName = thingName;
    this.#source = source;
    this.#log = log;
    this.#timeoutSeconds = operationTimeoutSeconds;
  }

  start(): void {
    this.#off = this.#source.onConnected((rejoined) => this.#onConnected(rejoined));
    if (this.#source.current() !== undefined) this.#onConnected(false);
  }

  stop(): void {
    this.#off?.();
    this.#unbind();
  }

  async startNext(stepTimeoutInMinutes: number): Promise<RemoteExecution | null> {
    const res = await this.#call((jobs) => jobs.startNextPendingJobExecution({ thingName: this.#thingName, stepTimeoutInMinutes }));
    return parseExecution(res.execution) ?? null;
  }

  async describe(jobId: string, executionNumber?: number): Promise<RemoteExecution | null> {
    try {
      const res = await this.#call((jobs) =>
        jobs.describeJobExecution({ thingName: this.#thingName, jobId, includeJobDocument: true, ...(executionNumber ? { executionNumber } : {}) }),
      );
      return parseExecution(res.execution) ?? null;
    } catch (err) {
      if (err instanceof JobsRejected && err.rejection === 'ResourceNotFound') return null;
      throw err;
    }
  }

  async update(r: UpdateRequest): Promise<void> {
    await this.#call((jobs) =>
      jobs.updateJobExecution({
        thingName: this.#thingName, jobId: r.jobId, status: r.status as JobStatus, statusDetails: r.statusDetails,
        executionNumber: r.executionNumber, ...(r.stepTimeoutInMinutes === undefined ? {} : { stepTimeoutInMinutes: r.stepTimeoutInMinutes }),
      }),
    );
  }

  onNextChanged(listener: (next: RemoteExecution | null) => void): () => void {
    this.#next.add(listener);
    return () => this.#next.delete(listener);
  }

  onPendingChanged(listener: (ids: ReadonlySet<string>) => void): () => void {
    this.#pending.add(listener);
    return () => this.#pending.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.#resync.add(listener);
    return () => this.#resync.delete(listener);
  }

  async #call<T>(op: (jobs: IotJobsClientv2) => Promise<T>): Promise<T> {
    const bound = this.#bound;
    if (bound === undefined || this.#source.current() !== bound.client) throw new JobsUnavailable('not connected');
    try {
      return await op(bound.jobs);
    } catch (err) {
      const modeled = (err as { modeledError?: { code?: unknown; message?: unknown } }).modeledError;
      if (modeled && typeof modeled.code === 'string') throw new JobsRejected(modeled.code, typeof modeled.message === 'string' ? modeled.message : '');
      throw new JobsUnavailable(messageOf(err), { cause: err });
    }
  }

  #onConnected(rejoinedSession: boolean): void {
    const client = this.#source.current();
    if (client === undefined) return;
    const fresh = this.#bound?.client !== client;
    if (fresh) this.#bind(client);
    // A new protocol client means new subscriptions; events sent meanwhile may be lost.
    if (fresh || !rejoinedSession) for (const l of this.#resync) l();
  }

  #bind(client: mqtt5.Mqtt5Client): void {
    this.#unbind();
    const jobs = IotJobsClientv2.newFromMqtt5(client, {
      maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 2, operationTimeoutInSeconds: this.#timeoutSeconds,
    });
    const next = jobs.createNextJobExecutionChangedStream({ thingName: this.#thingName });
    next.on('incomingPublish', (e) => {
      const execution = parseExecution(e.message.execution) ?? null;
      for (const l of this.#next) l(execution);
    });
    const notify = jobs.createJobExecutionsChangedStream({ thingName: this.#thingName });
    notify.on('incomingPublish', (e) => {
      const ids = new Set<string>();
      for (const list of Object.values(e.message.jobs ?? {})) for (const s of list as Array<{ jobId?: string }>) if (s.jobId) ids.add(s.jobId);
      for (const l of this.#pending) l(ids);
    });
    for (const stream of [next, notify]) {
      stream.on('subscriptionStatus', (e) => {
        this.#log.debug({ event: 'jobs-stream-status', type: e.type, error: e.error === undefined ? undefined : messageOf(e.error) }, 'jobs stream status');
        // Re-established after a loss: anything published in between was missed.
        if (e.type === mqtt_request_response.SubscriptionStatusEventType.SubscriptionEstablished && this.#bound?.jobs === jobs) for (const l of this.#resync) l();
      });
      stream.on('incomingPublishError', (e) => this.#log.warn({ event: 'jobs-bad-payload', err: e.error.message }, 'undecodable jobs event'));
      stream.open();
    }
    this.#bound = { client, jobs, streams: [next, notify] };
  }

  #unbind(): void {
    const bound = this.#bound;
    this.#bound = undefined;
    if (bound === undefined) return;
    for (const s of bound.streams) s.close();
    bound.jobs.close();
  }
}
