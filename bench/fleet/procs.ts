// Child processes of the fleet benchmark: the emulator host (request/reply over IPC) and the
// device workers, their memory from /proc, and stopping every one of them, also on Ctrl-C.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FromHost, FromWorker, ToHost, ToWorker } from './protocol.ts';

const HERE = import.meta.dirname;
const children = new Set<ChildProcess>();

type HostRequest = ToHost extends infer T ? T extends { id: number } ? Omit<T, 'id'> : never : never;

export interface Host {
  child: ChildProcess;
  ready: Extract<FromHost, { type: 'ready' }>;
  request<T>(msg: HostRequest): Promise<T>;
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Starts the emulator host and resolves once it is ready. */
export async function startHost(dir: string, pkiDir: string, bundleBytes: number): Promise<Host> {
  const child = track(fork(join(HERE, 'emulator-host.ts'), [dir, pkiDir, String(bundleBytes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const ready = await new Promise<Extract<FromHost, { type: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator host exited (${code ?? 'signal'}) before it was ready`)));
    child.on('message', (msg: FromHost) => {
      if (msg.type === 'ready') resolve(msg);
      else if (msg.type === 'reply') waiting.get(msg.id)?.resolve(msg.value);
      else waiting.get(msg.id)?.reject(new Error(msg.error));
      if (msg.type !== 'ready') waiting.delete(msg.id);
    });
  });
  return {
    child, ready,
    request: <T>(msg: HostRequest) => new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: (v) => resolve(v as T), reject });
      child.send({ ...msg, id });
    }),
  };
}

export interface Worker { child: ChildProcess; things: string[]; send(msg: ToWorker): void }

/** Starts a worker for `things`; every message it sends goes to `onMessage`. */
export function startWorker(things: string[], onMessage: (msg: FromWorker) => void): Worker {
  const child = track(fork(join(HERE, 'worker.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  child.on('message', onMessage);
  return { child, things, send: (msg) => { if (child.connected) child.send(msg); } };
}

/** Resident and peak resident memory of a process, in bytes (0 once it is gone). */
export function memoryOf(pid: number | undefined): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** Waits for every child to exit, SIGKILLing those still there after `graceMs`. */
export async function stopChildren(graceMs = 10_000): Promise<void> {
  const all = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = all.map((c) => new Promise<void>((resolve) => { if (c.exitCode !== null || c.signalCode !== null) resolve(); else c.once('exit', () => resolve()); }));
  for (const c of all) c.kill('SIGTERM');
  const timer = setTimeout(() => { for (const c of all) c.kill('SIGKILL'); }, graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
}
