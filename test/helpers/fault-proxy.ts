// An in-process TCP proxy between a client and a broker that injects network faults without
// touching interfaces: pass, delay, blackhole (accept, keep the socket, drop every byte),
// reset (RST on every connection) and cut (refuse new connections, destroy current ones).
// The mode can change at any time and applies to live connections too.

import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'blackhole' } | { kind: 'reset' } | { kind: 'cut' };

export interface FaultProxy {
  host: '127.0.0.1';
  port: number;
  mode(): FaultMode;
  set(mode: FaultMode): void;
  /** Connections accepted since start (attempts seen by the "network"). */
  accepted(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Start a proxy on a free 127.0.0.1 port in front of `target`. */
export async function startFaultProxy(target: { host: string; port: number }, initial: FaultMode = { kind: 'pass' }): Promise<FaultProxy> {
  let mode: FaultMode = initial;
  let accepted = 0;
  const pairs = new Set<Pair>();

  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      const m = mode;
      if (m.kind === 'pass') to.write(chunk);
      else if (m.kind === 'delay') setTimeout(() => to.destroyed || to.write(chunk), m.ms);
      // blackhole: bytes vanish; the sockets stay open so only keep-alive can notice.
    });
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(client, upstream);
    forward(upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host: '127.0.0.1',
    port,
    mode: () => mode,
    set: (next) => {
      mode = next;
      if (next.kind === 'reset') for (const p of pairs) p.client.resetAndDestroy();
      if (next.kind === 'cut') for (const p of pairs) p.client.destroy();
    },
    accepted: () => accepted,
    close: async () => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
