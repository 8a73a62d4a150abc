// The IPC server: a unix socket (mode 0660, optional group), one JSON request per line, one
// response per request, and after `subscribe` a stream of event lines on the same connection.

import { createServer, type Server, type Socket } from 'node:net';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { CodedError, messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { Request, Response, SupervisorEvent } from '../ipc/protocol.ts';
import { idOf, parseRequest } from '../ipc/validate.ts';

export interface IpcHandlers {
  handle(req: Exclude<Request, { method: 'subscribe' }>): Promise<unknown>;
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
}

export interface IpcServerOptions {
  path: string;
  /** Numeric gid given to the socket, or null to keep the process's group. */
  gid: number | null;
  logger: Logger;
  handlers: IpcHandlers;
}

const MAX_LINE = 64 * 1024;

/** A started IPC server; close() ends the listener and every connection. */
export async function startIpcServer(opts: IpcServerOptions): Promise<{ close(): Promise<void> }> {
  await mkdir(dirname(opts.path), { recursive: true, mode: 0o755 });
  await rm(opts.path, { force: true }); // a socket left by a killed supervisor
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, opts);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.path, () => resolve());
  });
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve()); // also removes the socket file
    });
  try {
    await chmod(opts.path, 0o660);
    if (opts.gid !== null) await chown(opts.path, process.getuid?.() ?? 0, opts.gid);
  } catch (err) {
    await close(); // a socket with the wrong mode or group is not left behind
    throw err;
  }
  opts.logger.info({ event: 'ipc-listening', path: opts.path }, 'IPC socket ready');
  return { close };
}

function serveConnection(socket: Socket, opts: IpcServerOptions): void {
  const offs: Array<() => void> = [];
  const send = (value: Response | { event: SupervisorEvent }): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
  };
  socket.on('error', () => socket.destroy());
  socket.on('close', () => offs.splice(0).forEach((off) => off()));
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.length > MAX_LINE) return send(failure(null, new CodedError('BAD_REQUEST', 'request line too long')));
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return send(failure(null, new CodedError('BAD_REQUEST', 'not JSON')));
    }
    let req: Request;
    try {
      req = parseRequest(raw);
    } catch (err) {
      return send(failure(idOf(raw), err));
    }
    if (req.method === 'subscribe') {
      offs.push(opts.handlers.subscribe((event) => send({ event })));
      return send({ id: req.id, ok: true, result: { subscribed: true } });
    }
    opts.handlers.handle(req).then(
      (result) => send({ id: req.id, ok: true, result }),
      (err: unknown) => {
        if (!(err instanceof CodedError)) opts.logger.error({ event: 'ipc-request-failed', method: req.method, err: messageOf(err) }, 'request failed');
        send(failure(req.id, err));
      },
    );
  });
}

function failure(id: Response['id'], err: unknown): Response {
  const code = err instanceof CodedError ? String(err.code) : 'INTERNAL';
  return { id, ok: false, error: { code, message: messageOf(err) } };
}
