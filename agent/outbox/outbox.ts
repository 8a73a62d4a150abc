// The durable outbound queue. publish() commits the message to disk and returns its id; a
// pump sends rows in enqueue order whenever the link is up, at most maxInFlight QoS 1
// publishes awaiting PUBACK, and deletes a row only after its PUBACK.
//
// INVARIANTS
// - A row is deleted only after a PUBACK for it (or when the bound policy drops it, counted).
// - After every (re)connection the pump starts again from the oldest row, so a message whose
//   PUBACK was lost with the connection is sent again: delivery is at least once, in order of
//   first arrival. Receivers de-duplicate by the id in the `twinslot-id` user property.
// - Results of publishes from an earlier connection (epoch) are ignored.

import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../common/clock.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { OutboxConfig } from '../config.ts';
import type { ConnectionEvent } from '../connection/machine.ts';
import type { PublishRequest } from '../connection/operations.ts';
import { isPublishTopic, MESSAGE_ID_PROPERTY } from '../connection/topics.ts';
import { OLDEST_SCAN, planAppend } from './bounds.ts';
import { OutboxStore, type StoredMessage } from './store.ts';
import type { AgentOutboxReport } from '../../ipc/protocol.ts';

/** What the outbox needs from the connection (Connection implements it). */
export interface OutboxLink {
  isConnected(): boolean;
  publish(request: PublishRequest): Promise<number>;
  onEvent(listener: (e: ConnectionEvent) => void): () => void;
}

export interface PublishOptions {
  retain?: boolean;
  userProperties?: Array<{ name: string; value: string }>;
}

export type OutboxStats = AgentOutboxReport;

const RETRY_AFTER_ERROR_MS = 1000;

/** Durable, ordered, bounded QoS 1 publishing over a link that comes and goes. */
export class Outbox {
  #store: OutboxStore;
  #config: OutboxConfig;
  #link: OutboxLink;
  #log: Logger;
  #clock: Clock;
  #held: { count: number; bytes: number };
  #cursor = 0;
  #epoch = 0;
  #inFlight = 0;
  #acked: number[] = [];
  #refused = 0;
  #stopping = false;
  #scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #idle: (() => void) | undefined;

  constructor(deps: { path: string; config: OutboxConfig; link: OutboxLink; log: Logger; clock?: Clock }) {
    this.#store = new OutboxStore(deps.path);
    this.#config = deps.config;
    this.#link = deps.link;
    this.#log = deps.log;
    this.#clock = deps.clock ?? systemClock;
    this.#held = this.#store.totals();
  }

  /** Follow the link's connections and send what is pending. */
  start(): void {
    this.#unsubscribe = this.#link.onEvent((e) => this.#onLink(e));
    this.#schedule();
  }

  /** Durably enqueue a QoS 1 message; returns its id once it is on disk. Throws OUTBOX_FULL under refuse-new. */
  publish(topic: string, payload: string | Uint8Array, options: PublishOptions = {}): string {
    if (this.#stopping) throw new CodedError('OUTBOX_STOPPED', 'the outbox is stopping');
    if (!isPublishTopic(topic)) throw new CodedError('INVALID_TOPIC', `not a publishable topic: ${topic}`);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const size = bytes.length + Buffer.byteLength(topic);
    const now = this.#clock.now();
    const plan = planAppend(this.#config, this.#held, this.#held.count > 0 ? this.#store.oldest(OLDEST_SCAN) : [], size, now);
    if (plan.kind === 'refuse') {
      this.#refused += 1;
      this.#log.warn({ event: 'outbox-drop', reason: plan.reason, topic, policy: this.#config.onFull }, 'message refused');
      throw new CodedError('OUTBOX_FULL', `outbox refused the message: ${plan.reason}`, { reason: plan.reason });
    }
    const id = randomUUID();
    const message = { id, topic, payload: bytes, retain: options.retain ?? false, userProperties: options.userProperties ?? [], createdAt: now, bytes: size };
    this.#store.append(message, plan.drop);
    if (plan.drop.length > 0) {
      this.#log.warn({ event: 'outbox-drop', expired: plan.expired, evicted: plan.evicted, policy: this.#config.onFull }, 'oldest messages dropped');
      this.#held = this.#store.totals();
    } else {
      this.#held = { count: this.#held.count + 1, bytes: this.#held.bytes + size };
    }
    this.#schedule();
    return id;
  }

  /** Counters for metrics and the status file. */
  stats(): OutboxStats {
    return {
      depth: this.#held.count,
      bytes: this.#held.bytes,
      inFlight: this.#inFlight,
      acked: this.#store.counter('acked') + this.#acked.length,
      dropped: this.#store.counter('dropped'),
      refused: this.#refused,
    };
  }

  /** Stop taking work, let in-flight publishes settle (bounded), record acks, close the store. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#unsubscribe?.();
    clearTimeout(this.#scheduled as NodeJS.Timeout);
    clearImmediate(this.#scheduled as NodeJS.Immediate);
    if (this.#inFlight > 0) {
      const idle = new Promise<void>((resolve) => (this.#idle = resolve));
      await Promise.race([idle, this.#clock.sleep(timeoutMs)]);
    }
    this.#flushAcks();
    this.#store.close();
  }

  #onLink(e: ConnectionEvent): void {
    if (e.type === 'connected' || e.type === 'interrupted' || e.type === 'stopped') {
      this.#flushAcks();
      this.#epoch += 1;
      this.#inFlight = 0;
      this.#cursor = 0;
      this.#idle?.();
      this.#schedule();
    }
  }

  #schedule(delayMs = 0): void {
    if (this.#scheduled !== undefined || this.#stopping) return;
    const run = (): void => {
      this.#scheduled = undefined;
      this.#pump();
    };
    this.#scheduled = delayMs === 0 ? setImmediate(run) : setTimeout(run, delayMs);
  }

  #pump(): void {
    this.#flushAcks();
    if (this.#stopping || !this.#link.isConnected()) return;
    const room = this.#config.maxInFlight - this.#inFlight;
    if (room <= 0) return;
    for (const row of this.#store.after(this.#cursor, room)) this.#send(row, this.#epoch);
  }

  #send(row: StoredMessage, epoch: number): void {
    this.#inFlight += 1;
    this.#cursor = row.seq;
    const userProperties = [...row.userProperties, { name: MESSAGE_ID_PROPERTY, value: row.id }];
    this.#link
      .publish({ topic: row.topic, payload: row.payload, qos: 1, retain: row.retain, userProperties })
      .then((code) => {
        if (epoch !== this.#epoch) return;
        this.#settle();
        if (code >= 0x80) this.#rejected(row, code);
        else this.#acked.push(row.seq);
        this.#schedule();
      })
      .catch((err: unknown) => {
        if (epoch !== this.#epoch) return;
        // Not acknowledged: go back to the oldest row and send again (after a pause, so an
        // operation that keeps failing on a live connection cannot spin).
        this.#log.debug({ event: 'outbox-publish-failed', seq: row.seq, err: messageOf(err) }, 'publish not acknowledged');
        this.#epoch += 1;
        this.#inFlight = 0;
        this.#cursor = 0;
        this.#idle?.();
        this.#schedule(RETRY_AFTER_ERROR_MS);
      });
  }

  #settle(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) this.#idle?.();
  }

  // The broker refused the message itself (not authorised, too large...): sending it again
  // would block the queue forever, so it is dropped, counted and logged.
  #rejected(row: StoredMessage, code: number): void {
    this.#flushAcks();
    this.#store.remove([row.seq], 'dropped');
    this.#held = { count: this.#held.count - 1, bytes: this.#held.bytes - row.bytes };
    this.#log.error({ event: 'outbox-drop', reason: 'rejected', reasonCode: code, topic: row.topic, id: row.id }, 'broker refused a message');
  }

  #flushAcks(): void {
    if (this.#acked.length === 0) return;
    const seqs = this.#acked;
    this.#acked = [];
    this.#store.remove(seqs, 'acked');
    this.#held = this.#store.totals();
  }
}
