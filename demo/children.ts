// The demo's own child processes: `twinslot supervisor` and `twinslot agent`, started through
// bin/twinslot.js like an operator would, with their JSON log lines collected (the timeline reads
// a few of them; the last ones are shown when something goes wrong) and an ordered stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { onJsonLines } from '../common/json-lines.ts';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'bin', 'twinslot.js');
const KEEP_LINES = 400;

export type LogLine = Record<string, unknown>;

export interface Child {
  name: string;
  pid: number;
  /** Log lines seen so far (the most recent KEEP_LINES). */
  logs: LogLine[];
  /** Resolves with the first line (past or future) with this `event` that `match` accepts. */
  waitLog(event: string, signal: AbortSignal, match?: (l: LogLine) => boolean): Promise<LogLine>;
  onLog(listener: (l: LogLine) => void): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. With `stoppedEvent`,
   * the SIGKILL comes 500 ms after that log line already: the agent's MQTT client (aws-crt) can
   * keep a process alive after its orderly stop finished (aws-crt-nodejs issue #600).
   */
  stop(graceMs: number, stoppedEvent?: string): Promise<void>;
}

/** Starts `twinslot <args>` with stderr parsed as JSON log lines. */
export function startChild(name: string, args: string[]): Child {
  // Own process group: a Ctrl-C on the terminal reaches the demo only, which stops everything in order.
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const logs: LogLine[] = [];
  const listeners = new Set<(l: LogLine) => void>();
  onJsonLines(child.stderr, (record, raw) => {
    const parsed: LogLine = (record as LogLine | undefined) ?? { event: 'text', msg: raw };
    logs.push(parsed);
    if (logs.length > KEEP_LINES) logs.shift();
    for (const l of listeners) l(parsed);
  });
  const exited = once(child, 'exit').then(([code, sig]) => ({ code: code as number | null, signal: sig as NodeJS.Signals | null }));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name, pid: child.pid ?? -1, logs, exited, running,
    onLog: (l) => void listeners.add(l),
    waitLog: (event, signal, match = () => true) => waitLog(logs, listeners, exited, name, event, signal, match),
    stop: async (graceMs, stoppedEvent) => {
      if (!running()) return;
      const kill = (): void => { if (running()) child.kill('SIGKILL'); };
      let late: NodeJS.Timeout | undefined;
      const onStopped = (l: LogLine): void => { if (stoppedEvent !== undefined && l['event'] === stoppedEvent) late = setTimeout(kill, 500); };
      listeners.add(onStopped);
      child.kill('SIGTERM');
      const timer = setTimeout(kill, graceMs);
      await exited;
      clearTimeout(timer);
      clearTimeout(late);
      listeners.delete(onStopped);
    },
  };
}

function waitLog(
  logs: LogLine[], listeners: Set<(l: LogLine) => void>, exited: Promise<{ code: number | null }>,
  name: string, event: string, signal: AbortSignal, match: (l: LogLine) => boolean,
): Promise<LogLine> {
  const found = logs.find((l) => l['event'] === event && match(l));
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    };
    const listener = (l: LogLine): void => {
      if (l['event'] !== event || !match(l)) return;
      done();
      resolve(l);
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason as Error);
    };
    listeners.add(listener);
    signal.addEventListener('abort', onAbort, { once: true });
    exited.then((e) => {
      done();
      reject(new Error(`${name} exited (code ${String(e.code)}) before logging ${event}`));
    }, () => undefined);
  });
}

/** The last log lines of `child` as text, for an error report. */
export function tailOf(child: Child, lines = 8): string {
  return child.logs.slice(-lines).map((l) => `  ${child.name}: ${JSON.stringify(l)}`).join('\n');
}
