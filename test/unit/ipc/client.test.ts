// The IPC client against a stand-in server that misbehaves: malformed lines are dropped (never
// thrown), an endless line ends the connection, and a request on a closed client rejects at once.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSupervisor } from '../../../ipc/client.ts';
import type { SupervisorEvent } from '../../../ipc/protocol.ts';

/** A unix socket server; `onLine` answers each request line with what it writes to the socket. */
async function fakeServer(t: TestContext, onLine: (line: string, socket: Socket) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'twinslot-ipc-client-'));
  const path = join(dir, 's.sock');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) onLine(l, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

test('malformed lines from the server are dropped; the real answer and events still arrive', async (t) => {
  const path = await fakeServer(t, (line, socket) => {
    const { id } = JSON.parse(line) as { id: number };
    socket.write('not json\n{"id":\n[1,2]\nnull\n"text"\n{"event":5}\n{"event":{"no":"type"}}\n');
    socket.write(`{"id":${id + 100},"ok":true,"result":1}\n{"id":"${id}","ok":true,"result":2}\n{"id":${id}}\n`);
    socket.write('{"event":{"type":"power-fail","at":5}}\n');
    socket.write(`{"id":${id},"ok":true,"result":{"subscribed":true}}\n`);
  });
  const client = await connectSupervisor(path);
  t.after(() => client.close());
  const events: SupervisorEvent[] = [];
  await client.subscribe((e) => events.push(e));
  assert.deepEqual(events, [{ type: 'power-fail', at: 5 }]);
});

test('a refusal with a malformed error still rejects, with a code', async (t) => {
  const path = await fakeServer(t, (line, socket) => {
    const { id } = JSON.parse(line) as { id: number };
    socket.write(`{"id":${id},"ok":false,"error":"nope"}\n`);
  });
  const client = await connectSupervisor(path);
  t.after(() => client.close());
  await assert.rejects(client.request('status'), { code: 'SUPERVISOR_PROTOCOL' });
});

test('an endless line from the server ends the connection; waiting and later requests reject', async (t) => {
  const path = await fakeServer(t, (_line, socket) => {
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 20; i += 1) socket.write(chunk);
  });
  const client = await connectSupervisor(path);
  await assert.rejects(client.request('status'), { code: 'SUPERVISOR_DISCONNECTED' });
  await client.closed;
  await assert.rejects(client.request('status'), { code: 'SUPERVISOR_DISCONNECTED' });
});

test('nobody listening: SUPERVISOR_UNAVAILABLE', async () => {
  await assert.rejects(connectSupervisor(join(tmpdir(), 'twinslot-no-such-dir', 's.sock')), { code: 'SUPERVISOR_UNAVAILABLE' });
});
