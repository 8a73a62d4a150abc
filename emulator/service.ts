// The jobs service around the pure engine: holds the state, persists it, publishes what the
// engine says to publish, and wakes itself for rollouts and timeouts through the Clock port.

import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import { messageOf } from '../common/errors.ts';
import { advance } from './jobs/control.ts';
import { handleDeviceMessage } from './jobs/device.ts';
import { nextWake } from './jobs/lifecycle.ts';
import type { EngineContext, EngineSettings, Job, JobsState, OutMessage, Outcome } from './jobs/model.ts';
import type { StateStore } from './state-store.ts';

export interface JobsServiceOptions {
  clock: Clock;
  settings: EngineSettings;
  store: StateStore;
  initial: JobsState;
  publish(messages: OutMessage[]): void;
  renderDocument(job: Job, now: number): unknown;
  log: Logger;
}

/** Serialises every change of the jobs state and sends the resulting messages in order. */
export class JobsService {
  #opts: JobsServiceOptions;
  #state: JobsState;
  #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(opts: JobsServiceOptions) {
    this.#opts = opts;
    this.#state = opts.initial;
  }

  /** Starts the timer loop (rollouts, step and in-progress timeouts, retries). */
  start(): void {
    this.#loop = this.#run();
  }

  /** Stops the timer loop and writes the last state. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    await this.#loop;
    await this.#opts.store.flush();
  }

  #context(): EngineContext {
    return { now: this.#opts.clock.now(), settings: this.#opts.settings, renderDocument: (job, now) => this.#opts.renderDocument(job, now) };
  }

  #commit<T>(outcome: Outcome<T>): T {
    const changed = outcome.state !== this.#state;
    this.#state = outcome.state;
    if (changed) this.#opts.store.save(outcome.state);
    if (outcome.messages.length > 0) this.#opts.publish(outcome.messages);
    if (changed) this.#wake.abort();
    return outcome.result;
  }

  /** A message a device published on a jobs topic. */
  device(topic: string, payload: Uint8Array): void {
    this.#commit(handleDeviceMessage(this.#state, topic, payload, this.#context()));
  }

  /** A control-plane change; its errors propagate to the caller. */
  control<T>(operation: (state: JobsState, ctx: EngineContext) => Outcome<T>): T {
    return this.#commit(operation(this.#state, this.#context()));
  }

  /** A control-plane read. */
  read<T>(view: (state: JobsState, ctx: EngineContext) => T): T {
    return view(this.#state, this.#context());
  }

  /** Runs the service's own progress now (after a test moved its clock, for instance). */
  tick(): void {
    this.#commit(advance(this.#state, this.#context()));
  }

  async #run(): Promise<void> {
    const { clock, log } = this.#opts;
    while (!this.#stop.signal.aborted) {
      try {
        this.tick();
      } catch (err) {
        log.error({ event: 'tick-failed', err: messageOf(err) }, 'jobs timer tick failed');
      }
      const now = clock.now();
      const wake = nextWake(this.#state, now);
      // Wake at the next deadline, on any change, and at least each minute.
      const delay = Math.min(Math.max(wake === undefined ? 60_000 : wake - now, 0), 60_000);
      this.#wake = new AbortController();
      const signal = AbortSignal.any([this.#wake.signal, this.#stop.signal]);
      await clock.sleep(delay, signal).catch(() => undefined);
    }
  }
}
