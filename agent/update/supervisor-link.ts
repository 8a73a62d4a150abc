// SupervisorPort over the supervisor's IPC client. The supervisor may restart (or start after
// the agent): each request connects when there is no live connection, and the event
// subscription is re-made on every new connection, so trial outcomes reach the agent after a
// supervisor restart too (awaitTrial also reads them from status).

import { connectSupervisor, type SupervisorClient } from '../../ipc/client.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import type { HealthSpec } from '../../bundle/manifest-types.ts';
import type { SlotName } from '../../slots/paths.ts';
import type { AgentStatusReport } from '../../ipc/protocol.ts';
import type { SupervisorEvent, SupervisorPort } from './supervisor-port.ts';

/** A self-reconnecting SupervisorPort. */
export class SupervisorLink implements SupervisorPort {
  readonly #socketPath: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  #client: Promise<SupervisorClient> | undefined;
  readonly #listeners = new Set<(e: SupervisorEvent) => void>();
  readonly #subscribedListeners = new Set<() => void>();
  #closed = false;
  #keepRetryMs: number | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(socketPath: string, log: Logger, clock: Clock) {
    this.#socketPath = socketPath;
    this.#log = log;
    this.#clock = clock;
  }

  status = async (): Promise<Awaited<ReturnType<SupervisorPort['status']>>> => (await this.#live()).request('status');
  prepareSlot = async (): Promise<Awaited<ReturnType<SupervisorPort['prepareSlot']>>> => (await this.#live()).request('prepare-slot');
  slotReady = async (slot: SlotName): Promise<Awaited<ReturnType<SupervisorPort['slotReady']>>> => (await this.#live()).request('slot-ready', { slot });
  activate = async (slot: SlotName, jobId: string, reboot: boolean, health?: HealthSpec): Promise<Awaited<ReturnType<SupervisorPort['activate']>>> =>
    (await this.#live()).request('activate', { slot, jobId, ...(reboot ? { reboot } : {}), ...(health === undefined ? {} : { health }) });
  rollback = async (jobId: string): Promise<Awaited<ReturnType<SupervisorPort['rollback']>>> => (await this.#live()).request('rollback', { jobId });
  restartApp = async (): Promise<Awaited<ReturnType<SupervisorPort['restartApp']>>> => (await this.#live()).request('restart-app');
  reboot = async (jobId: string): Promise<Awaited<ReturnType<SupervisorPort['reboot']>>> => (await this.#live()).request('reboot', { jobId });
  /** The agent's own status, which the supervisor keeps for its status report (agent/status-file.ts StatusPusher). */
  pushStatus = async (report: AgentStatusReport): Promise<void> => {
    await (await this.#live()).request('agent-status', report);
  };

  onEvent(listener: (event: SupervisorEvent) => void): () => void {
    this.#listeners.add(listener);
    // Make sure a subscribed connection exists; failures are retried by the next request or poll.
    this.#live().catch((err: unknown) => this.#log.debug({ event: 'supervisor-unreachable', err: messageOf(err) }, 'supervisor not reachable yet'));
    return () => this.#listeners.delete(listener);
  }

  /**
   * Keeps a subscribed connection at all times (power-fail and reboot events come unasked):
   * reconnects every `retryMs` while the supervisor is gone or restarting.
   */
  keepSubscribed(listener: (event: SupervisorEvent) => void, retryMs = 2_000): void {
    this.#listeners.add(listener);
    this.#keepRetryMs = retryMs;
    this.#ensure();
  }

  /**
   * Called after every new subscribed connection, the first one included. Events sent while
   * there was none (the supervisor restarting) are lost: a listener reads status to catch up.
   */
  onSubscribed(listener: () => void): () => void {
    this.#subscribedListeners.add(listener);
    return () => this.#subscribedListeners.delete(listener);
  }

  #ensure(): void {
    if (this.#closed || this.#keepRetryMs === undefined) return;
    this.#live().catch((err: unknown) => {
      this.#log.debug({ event: 'supervisor-unreachable', err: messageOf(err) }, 'supervisor not reachable; retrying');
      this.#retryTimer = setTimeout(() => this.#ensure(), this.#keepRetryMs);
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    void this.#client?.then((c) => c.close(), () => undefined);
  }

  // The live client, connecting (with a few quick retries) when there is none.
  async #live(): Promise<SupervisorClient> {
    if (this.#closed) throw new CodedError('SUPERVISOR_UNAVAILABLE', 'the agent is stopping');
    this.#client ??= this.#connect();
    try {
      return await this.#client;
    } catch (err) {
      this.#client = undefined;
      throw err;
    }
  }

  async #connect(): Promise<SupervisorClient> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        const client = await connectSupervisor(this.#socketPath);
        void client.closed.then(() => {
          if (this.#client !== undefined) this.#log.info({ event: 'supervisor-disconnected' }, 'supervisor connection closed');
          this.#client = undefined;
          if (!this.#closed && this.#keepRetryMs !== undefined) this.#retryTimer = setTimeout(() => this.#ensure(), this.#keepRetryMs);
        });
        await client.subscribe((e) => {
          for (const l of this.#listeners) l(e);
        });
        queueMicrotask(() => {
          for (const l of this.#subscribedListeners) l();
        }); // once #client holds this connection, so their requests ride on it
        return client;
      } catch (err) {
        lastError = err;
        await this.#clock.sleep(200 * (attempt + 1));
      }
    }
    throw lastError instanceof Error ? lastError : new CodedError('SUPERVISOR_UNAVAILABLE', messageOf(lastError));
  }
}
