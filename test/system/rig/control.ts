// The host half of the guest control channel (guest half: CTL_AGENT in guest-scripts.ts).
// Every boot announces itself with "hello <boot_id> <watchdog bootstatus>"; commands are
// shell scripts run one at a time by the guest, answered with exit code, stdout and stderr.

import { CodedError } from '../../../common/errors.ts';
import { EventLog } from './events.ts';
import { listenLines, type LineServer } from './line-server.ts';

export interface Boot {
  bootId: string;
  /** /sys/class/watchdog/watchdog0/bootstatus as the guest read it (null: no watchdog). */
  watchdogBootStatus: number | null;
  /** Host wall clock (ms) when the guest's control agent said hello. */
  at: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  resolve: (result: ExecResult) => void;
  reject: (err: Error) => void;
}

export class ControlChannel {
  readonly boots = new EventLog<Boot>();
  #server: LineServer | null = null;
  #pending = new Map<string, Pending>();
  #nextId = 0;

  async listen(path: string): Promise<void> {
    this.#server = await listenLines(path, (line) => this.#onLine(line));
  }

  /** Runs `script` with the guest's /bin/sh; resolves with what it printed and its exit code. */
  exec(script: string): Promise<ExecResult> {
    const id = `${++this.#nextId}`;
    if (!this.#server?.send(`${id} ${Buffer.from(script).toString('base64')}`)) {
      return Promise.reject(new CodedError('RIG_GUEST_UNREACHABLE', 'the guest control channel is not connected'));
    }
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  async close(): Promise<void> {
    this.#failPending('control channel closed');
    await this.#server?.close();
  }

  #onLine(line: string): void {
    const [kind, ...fields] = line.split(' ');
    if (kind === 'hello') {
      // The guest rebooted (or its agent restarted): commands in flight will never answer.
      this.#failPending('the guest restarted while the command ran');
      const status = Number(fields[1]);
      this.boots.push({ bootId: fields[0] ?? '', watchdogBootStatus: Number.isInteger(status) ? status : null, at: Date.now() });
    } else if (kind === 'done') {
      const [id, code, out, err] = fields;
      const pending = this.#pending.get(id ?? '');
      this.#pending.delete(id ?? '');
      pending?.resolve({ code: Number(code), stdout: decode(out), stderr: decode(err) });
    }
  }

  #failPending(why: string): void {
    for (const p of this.#pending.values()) p.reject(new CodedError('RIG_GUEST_RESTARTED', why));
    this.#pending.clear();
  }
}

function decode(field: string | undefined): string {
  return field === undefined || field === '-' ? '' : Buffer.from(field, 'base64').toString('utf8');
}
