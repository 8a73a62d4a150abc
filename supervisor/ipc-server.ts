// The IPC server: a unix socket (mode 0660, optional group), one JSON request per line, one
// response per request, and after `subscribe` a stream of event lines on the same connection.
//
// INVARIANTS (no client can crash, stall or grow the supervisor; DESIGN.md "Trust boundary" 4)
// - Every socket has its own error handler; a write to a closed or ended socket is skipped,
//   never thrown, and a client that hangs up early only loses its answers.
// - What a connection may hold is bounded: an unfinished line (maxLineBytes; past it the client
//   gets BAD_REQUEST and is disconnected), answers it does not read (maxUnreadBytes; past it it
//   is destroyed), requests in flight (maxInFlight; more are refused with BUSY).
// - At most maxConnections at once (more are closed at once, logged at most every 10 s); a
//   connection with no subscription and nothing in flight is closed after idleMs of silence.

import { createServer, type Server, type Socket } from 'node:net';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CodedError, messageOf } from '../common/errors.ts';
import { LineSplitter } from '../common/line-splitter.ts';
import type { Logger } from '../common/log.ts';
import { IPC_LIMITS, type AgentStatusReport, type IpcLimits, type Request, type Response, type SupervisorEvent } from '../ipc/protocol.ts';
import { idOf, parseRequest } from '../ipc/validate.ts';

export interface IpcHandlers {
  handle(req: Exclude<Request, { method: 'subscribe' }>): Promise<unknown>;
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
  /** The agent's pushed status, validated. */
  agentStatus(status: AgentStatusReport): void;
}

export interface IpcServerOptions {
  path: string;
  /** Numeric gid given to the socket, or null to keep the process's group. */
  gid: number | null;
  logger: Logger;
  handlers: IpcHandlers;
  /** Overrides of IPC_LIMITS (tests). */
  limits?: Partial<IpcLimits>;
}

const WARN_EVERY_MS = 10_000;
const REFUSED_GRACE_MS = 1000;

/** A started IPC server; close() ends the listener and every connection. */
export async function startIpcServer(opts: IpcServerOptions): Promise<{ close(): Promise<void> }> {
  const limits: IpcLimits = { ...IPC_LIMITS, ...opts.limits };
  await mkdir(dirname(opts.path), { recursive: true, mode: 0o755 });
  await rm(opts.path, { force: true }); // a socket left by a killed supervisor
  const sockets = new Set<Socket>();
  const warn = rateLimited(opts.logger);
  // Half-open allowed, so `printf '{...}\n' | socat - UNIX-CONNECT:...` still gets its answer.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, opts, limits, warn); // held by its socket's listeners
  });
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => warn('ipc-connection-refused', `more than ${limits.maxConnections} IPC connections: new ones are closed`));
  server.on('error', (err) => opts.logger.error({ event: 'ipc-server-error', err: messageOf(err) }, 'IPC server error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.path, () => {
      server.off('error', reject);
      resolve();
    });
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

type Warn = (event: string, msg: string) => void;

// One line per event kind at most every WARN_EVERY_MS, with how many were left out before it:
// a client that misbehaves in a loop cannot flood the log.
function rateLimited(logger: Logger): Warn {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (event, msg) => {
    const now = Date.now();
    const seen = last.get(event);
    if (seen && now - seen.at < WARN_EVERY_MS) {
      seen.suppressed += 1;
      return;
    }
    logger.warn({ event, suppressed: seen?.suppressed ?? 0 }, msg);
    last.set(event, { at: now, suppressed: 0 });
  };
}

// One client's connection: its line splitter, its subscription, its requests in flight.
class Connection {
  readonly #socket: Socket;
  readonly #opts: IpcServerOptions;
  readonly #limits: IpcLimits;
  readonly #warn: Warn;
  readonly #splitter: LineSplitter;
  #unsubscribe: (() => void) | undefined;
  #inFlight = 0;
  #peerEnded = false;
  #refused = false; // an overlong line: nothing more is read, the answers in flight still go out

  constructor(socket: Socket, opts: IpcServerOptions, limits: IpcLimits, warn: Warn) {
    this.#socket = socket;
    this.#opts = opts;
    this.#limits = limits;
    this.#warn = warn;
    this.#splitter = new LineSplitter(limits.maxLineBytes);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#unsubscribe?.());
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#endIfDone();
    });
    socket.setTimeout(limits.idleMs);
    socket.on('timeout', () => {
      if (this.#unsubscribe === undefined && this.#inFlight === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  #send(value: Response | { event: SupervisorEvent }): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    socket.write(`${JSON.stringify(value)}\n`);
    if (socket.writableLength > this.#limits.maxUnreadBytes) {
      this.#warn('ipc-client-not-reading', `an IPC client left more than ${this.#limits.maxUnreadBytes} bytes unread: disconnected`);
      socket.destroy();
    }
  }

  // A client that finished sending gets its answers, then the end (unless it subscribed). A
  // refused one too, and is destroyed REFUSED_GRACE_MS later: it may still be sending, and a
  // close at once would reset the connection before it read why.
  #endIfDone(): void {
    const socket = this.#socket;
    if (this.#inFlight > 0 || socket.destroyed) return;
    if (this.#refused) {
      socket.end();
      setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
    } else if (this.#peerEnded && this.#unsubscribe === undefined) socket.end();
  }

  #onData(chunk: Buffer): void {
    const socket = this.#socket;
    for (const line of this.#splitter.push(chunk)) {
      if (socket.destroyed) return;
      this.#onLine(line);
    }
    if (this.#splitter.overflows === 0 || socket.destroyed) return;
    // Past maxLineBytes without a newline: BAD_REQUEST, read nothing more, close once answered.
    const max = this.#limits.maxLineBytes;
    this.#warn('ipc-line-too-long', `an IPC client sent a line longer than ${max} bytes: disconnected`);
    this.#refused = true;
    socket.removeAllListeners('data');
    socket.pause();
    this.#send(failure(null, new CodedError('BAD_REQUEST', `request line longer than ${max} bytes`)));
    this.#endIfDone();
  }

  #onLine(line: string): void {
    const req = parse(line, (r) => this.#send(r));
    if (req === undefined) return;
    if (req.method === 'subscribe') {
      this.#unsubscribe ??= this.#opts.handlers.subscribe((event) => this.#send({ event }));
      return this.#send({ id: req.id, ok: true, result: { subscribed: true } });
    }
    if (req.method === 'agent-status') {
      this.#opts.handlers.agentStatus(req.params);
      return this.#send({ id: req.id, ok: true, result: { received: true } });
    }
    const max = this.#limits.maxInFlight;
    if (this.#inFlight >= max) return this.#send(failure(req.id, new CodedError('BUSY', `more than ${max} requests in flight on this connection`)));
    this.#inFlight += 1;
    run(req, this.#opts)
      .then((res) => {
        this.#inFlight -= 1;
        this.#send(res);
        this.#endIfDone();
      })
      .catch((err: unknown) => this.#opts.logger.error({ event: 'ipc-answer-failed', err: messageOf(err) }, 'answer not sent'));
  }
}

// A line → a request, or undefined after answering BAD_REQUEST (blank lines are skipped).
function parse(line: string, send: (r: Response) => void): ReturnType<typeof parseRequest> | undefined {
  if (line.trim() === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    send(failure(null, new CodedError('BAD_REQUEST', 'not JSON')));
    return undefined;
  }
  try {
    return parseRequest(raw);
  } catch (err) {
    send(failure(idOf(raw), err));
    return undefined;
  }
}

// Executes a request; resolves with its response, never rejects.
async function run(req: Exclude<Request, { method: 'subscribe' }>, opts: IpcServerOptions): Promise<Response> {
  try {
    return { id: req.id, ok: true, result: await opts.handlers.handle(req) };
  } catch (err) {
    if (!(err instanceof CodedError)) opts.logger.error({ event: 'ipc-request-failed', method: req.method, err: messageOf(err) }, 'request failed');
    return failure(req.id, err);
  }
}

function failure(id: Response['id'], err: unknown): Response {
  const code = err instanceof CodedError ? String(err.code) : 'INTERNAL';
  return { id, ok: false, error: { code, message: messageOf(err) } };
}
