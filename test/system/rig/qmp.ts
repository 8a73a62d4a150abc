// A small QMP client: QEMU connects to our unix socket (-chardev socket,reconnect=1 + -mon
// mode=control), greets, and we negotiate capabilities; then commands by id, events logged.

import { CodedError } from '../../../common/errors.ts';
import { EventLog } from './events.ts';
import { listenLines, type LineServer } from './line-server.ts';

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** Host wall clock (ms) when the event arrived. */
  at: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  readonly events = new EventLog<QmpEvent>();
  /** One entry per QMP session that finished negotiation (one per QEMU process). */
  readonly sessions = new EventLog<number>();
  #server: LineServer | null = null;
  #pending = new Map<string, Pending>();
  #nextId = 0;

  async listen(path: string): Promise<void> {
    this.#server = await listenLines(path, (line) => this.#onLine(line));
  }

  /** Runs a QMP command of the current session and returns its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = `c${++this.#nextId}`;
    const sent = this.#server?.send(JSON.stringify({ execute: command, id, ...(args ? { arguments: args } : {}) }));
    if (!sent) return Promise.reject(new CodedError('RIG_QMP_DISCONNECTED', `QMP ${command}: QEMU is not connected`));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  async close(): Promise<void> {
    this.#failPending('QMP closed');
    await this.#server?.close();
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('QMP' in msg) {
      // A new QEMU process: whatever the previous one owed us will never come.
      this.#failPending('QEMU restarted');
      this.#server?.send(JSON.stringify({ execute: 'qmp_capabilities', id: 'negotiate' }));
    } else if (msg.id === 'negotiate') {
      this.sessions.push(Date.now());
    } else if (typeof msg.event === 'string') {
      this.events.push({ event: msg.event, data: (msg.data ?? {}) as Record<string, unknown>, at: Date.now() });
    } else if (typeof msg.id === 'string') {
      const pending = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if ('error' in msg) pending?.reject(new CodedError('RIG_QMP_ERROR', JSON.stringify(msg.error)));
      else pending?.resolve(msg.return);
    }
  }

  #failPending(why: string): void {
    for (const p of this.#pending.values()) p.reject(new CodedError('RIG_QMP_DISCONNECTED', why));
    this.#pending.clear();
  }
}
