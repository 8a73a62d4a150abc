// The typed client of the supervisor's IPC socket, used by the agent and the CLI.

import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { CodedError } from '../common/errors.ts';
import type { Method, Request, Response, Results, SupervisorEvent } from './protocol.ts';

type Params<M extends Method> = Extract<Request, { method: M }> extends { params: infer P } ? P : undefined;

export interface SupervisorClient {
  /** Sends `method` and resolves with its result; a refusal rejects with a CodedError of the server's code. */
  request<M extends Exclude<Method, 'subscribe'>>(method: M, ...params: Params<M> extends undefined ? [] : [Params<M>]): Promise<Results[M]>;
  /** Asks for the event stream; `listener` gets every event from now on. */
  subscribe(listener: (event: SupervisorEvent) => void): Promise<void>;
  close(): void;
  /** Resolves when the connection ends (the supervisor stopped or close() was called). */
  readonly closed: Promise<void>;
}

/** Connects to the supervisor at `socketPath`; rejects with SUPERVISOR_UNAVAILABLE when nobody listens. */
export async function connectSupervisor(socketPath: string): Promise<SupervisorClient> {
  const socket: Socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err) => reject(new CodedError('SUPERVISOR_UNAVAILABLE', `cannot reach the supervisor at ${socketPath}: ${err.message}`)));
  });
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners = new Set<(e: SupervisorEvent) => void>();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined); // surfaced as 'close'
  void closed.then(() => {
    for (const w of waiting.values()) w.reject(new CodedError('SUPERVISOR_DISCONNECTED', 'the supervisor closed the connection'));
    waiting.clear();
  });
  createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
    const msg = JSON.parse(line) as Response | { event: SupervisorEvent };
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const w = typeof msg.id === 'number' ? waiting.get(msg.id) : undefined;
    if (!w || typeof msg.id !== 'number') return;
    waiting.delete(msg.id);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new CodedError(msg.error.code, msg.error.message));
  });
  const send = (method: Method, params?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
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
