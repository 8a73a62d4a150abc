// The IPC server's bounds, on a real unix socket with small limits and stand-in handlers: idle
// connections, requests in flight, the connection cap, clients that do not read, endless lines,
// half-closed and vanished clients, double subscriptions, the agent's status push.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Logger } from '../../../common/log.ts';
import type { AgentStatusReport, IpcLimits, SupervisorEvent } from '../../../ipc/protocol.ts';
import { startIpcServer, type IpcHandlers } from '../../../supervisor/ipc-server.ts';

interface Served {
  path: string;
  logs: Array<Record<string, unknown>>;
  pushed: AgentStatusReport[];
  listeners: Set<(e: SupervisorEvent) => void>;
  /** Resolves every `restart-app` still waiting. */
  release(): void;
}

async function serve(t: TestContext, limits: Partial<IpcLimits>, statusResult: unknown = { fake: true }): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-ipc-'));
  const path = join(dir, 'supervisor.sock');
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) as unknown as Logger;
  const pushed: AgentStatusReport[] = [];
  const listeners = new Set<(e: SupervisorEvent) => void>();
  let waiting: Array<() => void> = [];
  const handlers: IpcHandlers = {
    handle: (req) => req.method === 'restart-app' ? new Promise((resolve) => waiting.push(() => resolve({ restarted: true }))) : Promise.resolve(statusResult),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    agentStatus: (s) => void pushed.push(s),
  };
  const server = await startIpcServer({ path, gid: null, logger, handlers, limits });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, logs, pushed, listeners, release: () => {
    for (const w of waiting) w();
    waiting = [];
  } };
}

/** A raw connection that collects the lines it reads. */
async function raw(path: string): Promise<{ socket: Socket; lines: string[]; closed: Promise<void>; next(): Promise<Record<string, unknown>> }> {
  const socket = connect(path);
  const lines: string[] = [];
  let buf = '';
  const wakers = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of wakers) w();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await Promise.race([once(socket, 'connect'), closed]);
  let taken = 0;
  const next = async (): Promise<Record<string, unknown>> => {
    while (lines.length <= taken) {
      if (socket.destroyed) throw new Error('closed before the next line');
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          wakers.delete(wake);
          resolve();
        };
        wakers.add(wake);
        void closed.then(wake);
      });
    }
    return JSON.parse(lines[taken++] ?? '') as Record<string, unknown>;
  };
  return { socket, lines, closed, next };
}

const isClosed = async (closed: Promise<void>, ms: number): Promise<boolean> => Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);

test('an idle connection is closed; a subscriber and a connection with a request in flight are kept', async (t) => {
  const s = await serve(t, { idleMs: 300 });
  const idle = await raw(s.path);
  const sub = await raw(s.path);
  sub.socket.write('{"id":1,"method":"subscribe"}\n');
  assert.deepEqual(await sub.next(), { id: 1, ok: true, result: { subscribed: true } });
  const busy = await raw(s.path);
  busy.socket.write('{"id":1,"method":"restart-app"}\n');
  await idle.closed; // about 300 ms
  assert.equal(await isClosed(sub.closed, 1000), false, 'the subscriber stays');
  assert.equal(busy.socket.destroyed, false, 'the request in flight keeps its connection');
  s.release();
  assert.deepEqual(await busy.next(), { id: 1, ok: true, result: { restarted: true } });
  await busy.closed; // idle again after its answer
  sub.socket.destroy();
});

test('more requests in flight than maxInFlight are refused with BUSY; the others are answered', async (t) => {
  const s = await serve(t, { maxInFlight: 2 });
  const c = await raw(s.path);
  c.socket.write('{"id":1,"method":"restart-app"}\n{"id":2,"method":"restart-app"}\n{"id":3,"method":"restart-app"}\n');
  const third = await c.next();
  assert.equal(third.id, 3);
  assert.equal((third.error as { code: string }).code, 'BUSY');
  s.release();
  const ids = [(await c.next()).id, (await c.next()).id];
  assert.deepEqual(ids.sort(), [1, 2]);
  c.socket.write('{"id":4,"method":"status"}\n');
  assert.deepEqual(await c.next(), { id: 4, ok: true, result: { fake: true } });
  c.socket.destroy();
});

test('past maxConnections new connections are closed at once and logged once per window; a freed place is taken again', async (t) => {
  const s = await serve(t, { maxConnections: 3 });
  const held = await Promise.all([raw(s.path), raw(s.path), raw(s.path)]);
  for (const c of held) {
    c.socket.write('{"id":1,"method":"status"}\n');
    await c.next();
  }
  const refused = await Promise.all(Array.from({ length: 5 }, () => raw(s.path)));
  for (const r of refused) await r.closed;
  assert.deepEqual(refused.map((r) => r.lines.length), [0, 0, 0, 0, 0]);
  assert.equal(s.logs.filter((l) => l.event === 'ipc-connection-refused').length, 1, 'rate-limited');
  held[0]?.socket.destroy();
  await held[0]?.closed;
  let again = await raw(s.path);
  while (await isClosed(again.closed, 50)) again = await raw(s.path); // until the server has seen the close
  again.socket.write('{"id":2,"method":"status"}\n');
  assert.deepEqual(await again.next(), { id: 2, ok: true, result: { fake: true } });
  for (const c of [...held, again]) c.socket.destroy();
});

test('a client that does not read its answers is dropped once maxUnreadBytes wait for it', async (t) => {
  const s = await serve(t, { maxUnreadBytes: 64 * 1024 }, { big: 'x'.repeat(8192) });
  const c = await raw(s.path);
  c.socket.pause();
  c.socket.write('{"id":0,"method":"subscribe"}\n');
  const batch = Array.from({ length: 500 }, (_, i) => `{"id":${i + 1},"method":"status"}\n`).join('');
  while (!c.socket.destroyed && c.socket.writable) {
    c.socket.write(batch);
    if (await isClosed(c.closed, 20)) break;
  }
  await c.closed;
  assert.equal(s.listeners.size, 0, 'its subscription ended with it');
  assert.ok(s.logs.some((l) => l.event === 'ipc-client-not-reading'));
});

test('a line past maxLineBytes gets BAD_REQUEST and the connection ends; the lines before it are answered', async (t) => {
  const s = await serve(t, { maxLineBytes: 1024 });
  const c = await raw(s.path);
  c.socket.write('{"id":1,"method":"status"}\n');
  c.socket.write('x'.repeat(4096));
  await c.closed;
  const answers = c.lines.map((l) => JSON.parse(l) as { id: unknown; ok: boolean; error?: { code: string; message: string } });
  assert.equal(answers.length, 2);
  assert.deepEqual(answers.find((a) => a.id === 1), { id: 1, ok: true, result: { fake: true } });
  const refusal = answers.find((a) => a.id === null);
  assert.equal(refusal?.error?.code, 'BAD_REQUEST');
  assert.match(refusal.error.message, /longer than 1024 bytes/);
});

test('a half-closed client gets its answer; clients gone before theirs cost nothing', async (t) => {
  const s = await serve(t, {});
  const half = await raw(s.path);
  half.socket.end('{"id":1,"method":"restart-app"}\n');
  await sleep(100);
  s.release();
  assert.deepEqual(await half.next(), { id: 1, ok: true, result: { restarted: true } });
  await half.closed;
  for (let i = 0; i < 200; i += 1) {
    const c = await raw(s.path);
    c.socket.write('{"id":1,"method":"restart-app"}\n{"id":2,"method":"status"}\n');
    if (i % 2 === 0) c.socket.destroy();
    else c.socket.end();
  }
  await sleep(100);
  s.release(); // answers to connections that are gone
  await sleep(100);
  const c = await raw(s.path);
  c.socket.write('{"id":3,"method":"status"}\n');
  assert.deepEqual(await c.next(), { id: 3, ok: true, result: { fake: true } });
  c.socket.destroy();
});

test('subscribing twice on a connection gives one listener; agent-status reaches its handler only when well-formed', async (t) => {
  const s = await serve(t, {});
  const c = await raw(s.path);
  c.socket.write('{"id":1,"method":"subscribe"}\n{"id":2,"method":"subscribe"}\n');
  await c.next();
  await c.next();
  assert.equal(s.listeners.size, 1);
  for (const l of s.listeners) l({ type: 'power-fail', at: 1 });
  assert.deepEqual(await c.next(), { event: { type: 'power-fail', at: 1 } });
  const report: AgentStatusReport = {
    pid: 7, updatedAt: '2026-01-01T00:00:00.000Z', thingName: 'dev-1', clientId: 'dev-1', job: null,
    connection: { state: 'backoff', connects: 2, rejoinedSessions: 1, disconnects: { 'server-disconnect': 1 }, connectFailures: 3, authFailures: 0, failovers: 0, lastReconnectDelayMs: 1500.5, reconnectDelayTotalMs: 4000 },
  };
  c.socket.write(`${JSON.stringify({ id: 3, method: 'agent-status', params: report })}\n`);
  assert.deepEqual(await c.next(), { id: 3, ok: true, result: { received: true } });
  c.socket.write(`${JSON.stringify({ id: 4, method: 'agent-status', params: { ...report, extra: 1 } })}\n`);
  assert.equal(((await c.next()).error as { code: string }).code, 'BAD_REQUEST');
  assert.deepEqual(s.pushed, [report]);
  c.socket.destroy();
});
