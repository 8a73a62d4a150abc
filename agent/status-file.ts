// The agent's status: <agentDir>/status.json (written atomically on a timer and at stop, for
// `twinslot status` while no supervisor answers) and the same report pushed to the supervisor
// (`agent-status`), which shows it in its status. Root never reads the file: it lives in a
// directory the agent writes, so the CLI reads it as the invoking user, and defensively.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno, messageOf } from '../common/errors.ts';
import { writeFileAtomic } from '../common/durable-file.ts';
import type { Logger } from '../common/log.ts';
import type { AgentStatusReport } from '../ipc/protocol.ts';
import { parseAgentStatus } from '../ipc/validate.ts';
import type { LinkSnapshot } from './metrics.ts';

export interface AgentStatus extends LinkSnapshot {
  pid: number;
  updatedAt: string;
  thingName: string;
  clientId: string;
  /** The job being worked on (jobs/engine.ts CurrentJob); null when idle. */
  job?: unknown;
  /** Set once a power-fail notice was handled: epoch ms of the notice. */
  powerFailAt?: number;
}

// The file is ~1 KiB; anything far larger is not the agent's.
const MAX_FILE_BYTES = 64 * 1024;

/** The status file's path under the agent's state dir. */
export function statusFilePath(agentDir: string): string {
  return join(agentDir, 'status.json');
}

/** Write the status file atomically. */
export async function writeAgentStatus(agentDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusFilePath(agentDir), `${JSON.stringify(status, null, 2)}\n`);
}

/** Read the status file; undefined when the agent never wrote one. */
export async function readAgentStatus(agentDir: string): Promise<AgentStatus | undefined> {
  try {
    return JSON.parse(await readFile(statusFilePath(agentDir), 'utf8')) as AgentStatus;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** The report pushed to the supervisor: the status's known fields, checked as the supervisor checks them. */
export function statusReport(status: AgentStatus): AgentStatusReport {
  return parseAgentStatus(JSON.parse(JSON.stringify(status)), 'AGENT_STATUS_INVALID');
}

export type StatusFileRead = { status: AgentStatusReport; mtimeMs: number } | { error: string };

/**
 * Reads status.json for `twinslot status` without trusting it: no symlink followed (O_NOFOLLOW),
 * no blocking on a FIFO (O_NONBLOCK), a regular file with one link only, at most 64 KiB, and a
 * well-formed report. Undefined when there is none. An error never quotes the file's content.
 */
export function readStatusFileSafely(agentDir: string): StatusFileRead | undefined {
  let fd: number;
  try {
    fd = openSync(statusFilePath(agentDir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return { error: isErrno(err, 'ELOOP') ? 'status.json is a symbolic link' : `cannot open status.json: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { error: 'status.json is not a regular file' };
    if (st.nlink !== 1) return { error: 'status.json has more than one link' };
    if (st.size > MAX_FILE_BYTES) return { error: `status.json is larger than ${MAX_FILE_BYTES} bytes` };
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_FILE_BYTES) return { error: `status.json is larger than ${MAX_FILE_BYTES} bytes` };
    let raw: unknown;
    try {
      raw = JSON.parse(buf.toString('utf8', 0, n));
    } catch {
      return { error: 'status.json is not JSON' }; // V8's message would quote the content
    }
    return { status: parseAgentStatus(raw, 'AGENT_STATUS_INVALID'), mtimeMs: st.mtimeMs };
  } catch (err) {
    return { error: messageOf(err) };
  } finally {
    closeSync(fd);
  }
}

export interface StatusPusherDeps {
  /** The status as the file gets it, made at each push. */
  build(): AgentStatus;
  send(report: AgentStatusReport): Promise<unknown>;
  intervalMs: number;
  log: Logger;
}

/** Pushes the status to the supervisor on the status file's interval, and once more at stop. */
export class StatusPusher {
  readonly #d: StatusPusherDeps;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(deps: StatusPusherDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#timer = setInterval(() => void this.push(), this.#d.intervalMs);
  }

  /** One push now; a push still under way (a supervisor that is slow or restarting) makes it a no-op. */
  async push(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#d.send(statusReport(this.#d.build()));
    } catch (err) {
      const invalid = err instanceof Error && (err as { code?: unknown }).code === 'AGENT_STATUS_INVALID';
      if (invalid) this.#d.log.warn({ event: 'status-push-invalid', err: messageOf(err) }, 'status not pushed: it does not pass the IPC check');
      else this.#d.log.debug({ event: 'status-push-failed', err: messageOf(err) }, 'status not pushed to the supervisor');
    } finally {
      this.#busy = false;
    }
  }

  /** Ends the timer and pushes a last status, waiting at most `timeoutMs` for the supervisor. */
  async stop(timeoutMs = 1000): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    this.#busy = false; // the last one goes out even if a stuck push holds the flag
    await Promise.race([this.push(), late]);
    clearTimeout(timer);
  }
}
