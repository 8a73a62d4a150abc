// Free TCP ports on 127.0.0.1, and waiting for a listener to accept.

import { createServer, connect } from 'node:net';
import { systemClock, type Clock } from '../../common/clock.ts';
import { CodedError } from '../../common/errors.ts';

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once 127.0.0.1:`port` accepts connections; rejects after `timeoutMs` or when `alive()` turns false. */
export async function waitForPort(port: number, options: { timeoutMs?: number; alive?: () => boolean; clock?: Clock } = {}): Promise<void> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.monotonic() + (options.timeoutMs ?? 20_000);
  while (clock.monotonic() < deadline) {
    if (options.alive && !options.alive()) throw new CodedError('BROKER_EXITED', `the process meant to listen on port ${port} exited`);
    if (await canConnect(port)) return;
    await clock.sleep(25);
  }
  throw new CodedError('BROKER_START_TIMEOUT', `nothing listened on 127.0.0.1:${port} in time`);
}
