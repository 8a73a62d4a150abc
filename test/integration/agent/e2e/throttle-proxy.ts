// A TCP proxy for bundle downloads: forwards server→client bytes at a set rate so a test can act
// in the middle of a transfer, counts them, and can cut every live connection or hold traffic.

import { createServer, connect, type Socket } from 'node:net';

export interface ThrottleProxy {
  port: number;
  /** Server→client bytes forwarded so far. */
  forwarded(): number;
  /** Destroys every live connection (new ones are accepted). */
  cut(): void;
  /** Stops forwarding (connections stay open) until resumed. */
  hold(on: boolean): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 in front of `target`, forwarding at most `bytesPerSecond`. */
export async function startThrottleProxy(target: { host: string; port: number }, bytesPerSecond: number): Promise<ThrottleProxy> {
  let forwarded = 0;
  let held = false;
  const live = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      live.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        live.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    // Server → client in slices of 16 KiB, paced to the rate.
    const queue: Buffer[] = [];
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      const step = (): void => {
        if (client.destroyed) return;
        if (held || queue.length === 0) {
          pumping = false;
          if (held) setTimeout(pump, 50);
          return;
        }
        const chunk = queue.shift() as Buffer;
        const slice = chunk.subarray(0, 16 * 1024);
        if (slice.length < chunk.length) queue.unshift(chunk.subarray(slice.length));
        forwarded += slice.length;
        client.write(slice);
        if (queue.length < 8) upstream.resume();
        setTimeout(step, Math.max(1, Math.round((slice.length / bytesPerSecond) * 1000)));
      };
      step();
    };
    upstream.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      if (queue.length >= 8) upstream.pause();
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    forwarded: () => forwarded,
    cut: () => {
      for (const s of live) s.destroy();
    },
    hold: (on) => {
      held = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  };
}
