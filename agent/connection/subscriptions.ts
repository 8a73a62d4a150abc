// The registry of the agent's subscriptions. The broker's persistent session keeps them across
// a rejoined session; after a connection whose session was NOT rejoined (expired, first
// connect, broker lost its state) every filter is subscribed again. SUBACK reason codes are
// checked: a refused filter is logged and retried with full-jitter backoff while connected.

import { fullJitter, type BackoffPolicy } from '../../common/backoff.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { Connection, MessageListener } from './connection.ts';
import type { ConnectionEvent } from './machine.ts';
import { topicMatches } from './topics.ts';

interface Entry {
  topicFilter: string;
  qos: 0 | 1;
  handler: MessageListener;
  state: 'pending' | 'active' | 'refused';
}

/** AWS IoT Core accepts at most 8 filters per SUBSCRIBE. */
const FILTERS_PER_SUBSCRIBE = 8;

/** Subscriptions that follow the connection. */
export class Subscriptions {
  #connection: Connection;
  #log: Logger;
  #retry: BackoffPolicy;
  #entries = new Set<Entry>();
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #off: Array<() => void> = [];

  constructor(deps: { connection: Connection; log: Logger; retry?: BackoffPolicy }) {
    this.#connection = deps.connection;
    this.#log = deps.log;
    this.#retry = deps.retry ?? { baseMs: 1000, maxMs: 60_000 };
    this.#off.push(deps.connection.onEvent((e) => this.#onEvent(e)));
    this.#off.push(deps.connection.onMessage((topic, payload, props) => this.#dispatch(topic, payload, props)));
  }

  /** Register a filter and its handler; subscribes now when connected. Returns a remover (local only). */
  add(topicFilter: string, qos: 0 | 1, handler: MessageListener): () => void {
    const entry: Entry = { topicFilter, qos, handler, state: 'pending' };
    this.#entries.add(entry);
    this.#sync();
    return () => this.#entries.delete(entry);
  }

  /** Each filter and whether the broker holds it. */
  status(): Array<{ topicFilter: string; state: Entry['state'] }> {
    return [...this.#entries].map((e) => ({ topicFilter: e.topicFilter, state: e.state }));
  }

  /** Release listeners and timers. */
  stop(): void {
    clearTimeout(this.#timer);
    for (const off of this.#off) off();
  }

  #onEvent(e: ConnectionEvent): void {
    if (e.type !== 'connected') return;
    this.#attempt = 0;
    if (!e.rejoinedSession) for (const entry of this.#entries) entry.state = 'pending';
    this.#sync();
  }

  #sync(): void {
    if (!this.#connection.isConnected()) return;
    const pending = [...this.#entries].filter((e) => e.state !== 'active');
    for (let i = 0; i < pending.length; i += FILTERS_PER_SUBSCRIBE) {
      void this.#subscribe(pending.slice(i, i + FILTERS_PER_SUBSCRIBE));
    }
  }

  async #subscribe(batch: Entry[]): Promise<void> {
    try {
      const codes = await this.#connection.subscribe(batch.map((e) => ({ topicFilter: e.topicFilter, qos: e.qos })));
      batch.forEach((entry, i) => {
        const code = codes[i] ?? 0x80;
        entry.state = code < 0x80 ? 'active' : 'refused';
        if (code >= 0x80) this.#log.error({ event: 'subscribe-refused', topicFilter: entry.topicFilter, reasonCode: code }, 'subscription refused');
      });
    } catch (err) {
      this.#log.warn({ event: 'subscribe-failed', err: messageOf(err) }, 'subscribe did not complete');
    }
    if (batch.some((e) => e.state !== 'active')) this.#retryLater();
  }

  #retryLater(): void {
    if (this.#timer !== undefined) return;
    const delay = fullJitter(this.#retry, this.#attempt++);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sync();
    }, delay);
  }

  #dispatch(topic: string, payload: Buffer, props: ReadonlyArray<{ name: string; value: string }>): void {
    for (const entry of this.#entries) if (topicMatches(entry.topicFilter, topic)) entry.handler(topic, payload, props);
  }
}
