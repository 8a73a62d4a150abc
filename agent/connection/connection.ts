// The executor of the connection machine: it owns the Mqtt5Client's life cycle (one client per
// attempt), the retry, failover and health-check timers, and turns client callbacks into
// machine events. Decisions live in machine.ts; this file only acts on them.

import type { mqtt5 } from 'aws-crt';
import { systemClock, type Clock } from '../../common/clock.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ConnectionConfig } from '../config.ts';
import { destroyClient, startClient } from './client.ts';
import { readCredentials } from './credentials.ts';
import { logEvent } from './log-events.ts';
import { transition, type ConnectionEvent, type ConnectionState, type Effect, type MachineEvent, type MachineSettings } from './machine.ts';
import { publishStatus, publishPacket, subscribePacket, type PublishRequest, type Subscription } from './operations.ts';

export type { PublishRequest, Subscription } from './operations.ts';
export type MessageListener = (topic: string, payload: Buffer, userProperties: ReadonlyArray<{ name: string; value: string }>) => void;

export interface ConnectionDeps {
  config: ConnectionConfig;
  log: Logger;
  clock?: Clock;
  random?: () => number;
}

/** The agent's resilient MQTT connection: start() once, stop() once; it reconnects by itself in between. */
export class Connection {
  readonly config: ConnectionConfig;
  #log: Logger;
  #clock: Clock;
  #random: () => number;
  #settings: MachineSettings;
  #state: ConnectionState = { kind: 'idle' };
  #client: mqtt5.Mqtt5Client | undefined;
  #generation = 0;
  #destroying = new Set<Promise<void>>();
  #timers = new Map<'retry' | 'primary' | 'health', NodeJS.Timeout>();
  #listeners = new Set<(e: ConnectionEvent) => void>();
  #messageListeners = new Set<MessageListener>();
  #stopped: Promise<void> | undefined;
  #resolveStopped: (() => void) | undefined;

  constructor(deps: ConnectionDeps) {
    this.config = deps.config;
    this.#log = deps.log;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    const c = deps.config;
    this.#settings = {
      endpointCount: c.endpoints.length,
      backoff: c.backoff,
      authBackoff: c.authBackoff,
      takeoverBackoff: c.takeoverBackoff,
      stableAfterMs: c.stableAfterMs,
      failoverAfter: c.failoverAfter,
      returnToPrimaryMs: c.returnToPrimaryMs,
      healthCheckMs: c.healthCheckMs,
      attemptTimeoutMs: c.connackTimeoutMs + 15_000,
    };
  }

  /** The current machine state (read-only snapshot). */
  get state(): ConnectionState {
    return this.#state;
  }

  /** True while a connection is established. */
  isConnected(): boolean {
    return this.#state.kind === 'connected' && this.#client !== undefined;
  }

  /** The live MQTT5 client while connected: the SDK's service clients (IotJobsClientv2) bind to one client. */
  mqttClient(): mqtt5.Mqtt5Client | undefined {
    return this.isConnected() ? this.#client : undefined;
  }

  /** Subscribe to connection events; returns the unsubscribe function. */
  onEvent(listener: (e: ConnectionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribe to every incoming PUBLISH; returns the unsubscribe function. */
  onMessage(listener: MessageListener): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Begin connecting; the health check runs until stop(). */
  start(): void {
    if (this.#state.kind !== 'idle') return;
    this.#timers.set('health', setInterval(() => this.#healthCheck(), this.config.healthCheckMs));
    this.#dispatch({ type: 'start', now: this.#clock.now() });
  }

  /** Publish retained `offline`, disconnect cleanly and free everything, within stopTimeoutMs. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    if (this.#state.kind === 'idle') this.#state = { kind: 'stopped' };
    if (this.#state.kind === 'stopped') this.#resolveStopped?.();
    else this.#dispatch({ type: 'stop' });
    return this.#stopped;
  }

  /** Publish on the live connection; resolves with the PUBACK reason code (0 for QoS 0). */
  async publish(request: PublishRequest): Promise<number> {
    return publishPacket(this.#live(), request);
  }

  /** Subscribe on the live connection; resolves with one SUBACK reason code per filter. */
  async subscribe(subscriptions: Subscription[]): Promise<number[]> {
    return subscribePacket(this.#live(), subscriptions);
  }

  /** QoS 1 publishes sent and not yet acknowledged by the broker. */
  unacked(): number {
    return this.#client?.getOperationalStatistics().unackedOperationCount ?? 0;
  }

  #live(): mqtt5.Mqtt5Client {
    if (!this.isConnected() || this.#client === undefined) throw new CodedError('NOT_CONNECTED', 'the MQTT connection is not established');
    return this.#client;
  }

  #dispatch(event: MachineEvent): void {
    const step = transition(this.#state, event, this.#settings);
    this.#state = step.state;
    for (const effect of step.effects) this.#run(effect);
  }

  #run(effect: Effect): void {
    switch (effect.type) {
      case 'connect':
        void this.#connect(effect.endpoint);
        return;
      case 'destroy-client':
        this.#destroyClient();
        return;
      case 'schedule-retry':
        this.#setTimer('retry', effect.delayMs, () => this.#dispatch({ type: 'retry-due', now: this.#clock.now() }));
        return;
      case 'cancel-retry':
        this.#clearTimer('retry');
        return;
      case 'schedule-return-to-primary':
        this.#setTimer('primary', effect.delayMs, () => this.#dispatch({ type: 'return-to-primary', now: this.#clock.now() }));
        return;
      case 'cancel-return-to-primary':
        this.#clearTimer('primary');
        return;
      case 'shutdown':
        void this.#shutdown(effect.online);
        return;
      case 'emit':
        this.#emit(effect.event);
        return;
    }
  }

  async #connect(endpointIndex: number): Promise<void> {
    this.#destroyClient();
    const generation = ++this.#generation;
    const endpoint = this.config.endpoints[endpointIndex] ?? this.config.endpoints[0];
    if (endpoint === undefined) return;
    let read;
    try {
      read = await readCredentials(this.config);
    } catch (err) {
      read = { kind: 'missing' as const, path: `${this.config.certPath} (${messageOf(err)})` };
    }
    if (generation !== this.#generation) return;
    if (read.kind === 'missing') {
      this.#dispatch({ type: 'credentials-missing', path: read.path, now: this.#clock.now() });
      return;
    }
    const current = (): boolean => generation === this.#generation;
    try {
      this.#client = startClient(this.config, endpoint, read.credentials, {
        connected: (rejoinedSession) => current() && this.#onConnected(rejoinedSession),
        failed: (kind, detail) => current() && this.#dispatch({ type: 'connect-failed', kind, detail, now: this.#clock.now(), random: this.#random() }),
        disconnected: (kind, detail) => current() && this.#dispatch({ type: 'disconnected', kind, detail, now: this.#clock.now(), random: this.#random() }),
        message: (topic, payload, props) => current() && this.#deliver(topic, payload, props),
      });
    } catch (err) {
      // The SDK refuses a malformed certificate or key before any network traffic.
      this.#dispatch({ type: 'connect-failed', kind: 'auth', detail: messageOf(err), now: this.#clock.now(), random: this.#random() });
    }
  }

  #onConnected(rejoinedSession: boolean): void {
    this.#dispatch({ type: 'connected', rejoinedSession, now: this.#clock.now() });
    const client = this.#client;
    if (client === undefined || !this.isConnected()) return;
    publishStatus(client, this.config, { state: 'online', rejoinedSession, at: this.#clock.now() }).catch((err: unknown) =>
      this.#log.warn({ event: 'status-publish-failed', err: messageOf(err) }, 'retained online status not published'),
    );
  }

  #deliver(topic: string, payload: Buffer, props: ReadonlyArray<{ name: string; value: string }>): void {
    for (const listener of this.#messageListeners) {
      try {
        listener(topic, payload, props);
      } catch (err) {
        this.#log.error({ event: 'message-handler-failed', topic, err: messageOf(err) }, 'a message handler threw');
      }
    }
  }

  #destroyClient(): void {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    this.#generation += 1;
    const done = destroyClient(client, this.config.stopTimeoutMs).finally(() => this.#destroying.delete(done));
    this.#destroying.add(done);
  }

  async #shutdown(online: boolean): Promise<void> {
    this.#clearTimer('health');
    const client = this.#client;
    if (online && client !== undefined) {
      const status = publishStatus(client, this.config, { state: 'offline', cause: 'shutdown', at: this.#clock.now() });
      await Promise.race([status.catch(() => undefined), this.#clock.sleep(this.config.stopTimeoutMs / 2)]);
    }
    this.#destroyClient();
    await Promise.all([...this.#destroying]);
    this.#dispatch({ type: 'stopped' });
  }

  #emit(event: ConnectionEvent): void {
    logEvent(this.#log, event, this.config.endpoints);
    if (event.type === 'stopped') this.#resolveStopped?.();
    for (const listener of this.#listeners) listener(event);
  }

  #healthCheck(): void {
    this.#dispatch({ type: 'health-check', now: this.#clock.now(), hasClient: this.#client !== undefined, random: this.#random() });
  }

  #setTimer(name: 'retry' | 'primary', ms: number, fire: () => void): void {
    this.#clearTimer(name);
    this.#timers.set(name, setTimeout(() => {
      this.#timers.delete(name);
      fire();
    }, ms));
  }

  #clearTimer(name: 'retry' | 'primary' | 'health'): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }
}
