// The typed client of the supervisor's IPC socket, used by the agent and the CLI. Lines from the
// server are split with a bound and read defensively: a malformed one is dropped, never thrown.

import { connect, type Socket } from 'node:net';
import { CodedError } from '../common/errors.ts';
import { LineSplitter } from '../common/line-splitter.ts';
import type { ClientRequest, Method, Results, SupervisorEvent } from './protocol.ts';

type Params<M extends Method> = Extract<ClientRequest, { method: M }> extends { params: infer P } ? P : undefined;

// Far above any answer the supervisor gives (a status report is a few KiB).
const MAX_LINE_BYTES = 1024 * 1024;

export interface SupervisorClient {
  /** Sends `method` and resolves with its result; a refusal rejects with a CodedError of the server's code. */
  request<M extends Exclude<Method, 'subscribe'>>(method: M, ...params: Params<M> extends undefined ? [] : [Params<M>]): Promise<Results[M]>;
  /** Asks for the event stream; `listener` gets every event from now on. */
  subscribe(listener: (event: SupervisorEvent) => void): Promise<void>;
  close(): void;
  /** Resolves when the connection ends (the supervisor stopped or close() was called). */
  readonly closed: Promise<void>;
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** Connects to the supervisor at `socketPath`; rejects with SUPERVISOR_UNAVAILABLE when nobody listens. */
export async function connectSupervisor(socketPath: string): Promise<SupervisorClient> {
  const socket: Socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err) => reject(new CodedError('SUPERVISOR_UNAVAILABLE', `cannot reach the supervisor at ${socketPath}: ${err.message}`)));
  });
  let next = 1;
  let open = true;
  const waiting = new Map<number, Waiter>();
  const listeners = new Set<(e: SupervisorEvent) => void>();
  const gone = (): CodedError => new CodedError('SUPERVISOR_DISCONNECTED', 'the supervisor closed the connection');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined); // surfaced as 'close'
  void closed.then(() => {
    open = false;
    for (const w of waiting.values()) w.reject(gone());
    waiting.clear();
  });
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  socket.on('data', (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) dispatch(line, waiting, listeners);
    if (splitter.overflows > 0) socket.destroy(); // not the supervisor's protocol
  });
  const send = (method: Method, params?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!open || !socket.writable) return reject(gone());
      const id = next++;
      waiting.set(id, { resolve, reject });
      socket.write(`${JSON.stringify(params === undefined ? { id, method } : { id, method, params })}\n`);
    });
  return {
    request: (method, ...params) => send(method, params[0]) as Promise<Results[typeof method]>,
    subscribe: async (listener) => {
      listeners.add(listener);
      await send('subscribe');
    },
    close: () => socket.end(),
    closed,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// One line from the server: an event for the listeners, or the answer to a waiting request.
// Anything else (not JSON, an unknown id, a wrong shape) is dropped.
function dispatch(line: string, waiting: Map<number, Waiter>, listeners: Set<(e: SupervisorEvent) => void>): void {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (!isObj(msg)) return;
  if (isObj(msg.event) && typeof msg.event.type === 'string') {
    for (const l of listeners) l(msg.event as unknown as SupervisorEvent);
    return;
  }
  const w = typeof msg.id === 'number' ? waiting.get(msg.id) : undefined;
  if (!w || typeof msg.id !== 'number' || typeof msg.ok !== 'boolean') return;
  waiting.delete(msg.id);
  if (msg.ok) return w.resolve(msg.result);
  const error = isObj(msg.error) ? msg.error : {};
  w.reject(new CodedError(typeof error.code === 'string' ? error.code : 'SUPERVISOR_PROTOCOL', typeof error.message === 'string' ? error.message : 'malformed error answer'));
}
