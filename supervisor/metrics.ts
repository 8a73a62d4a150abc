// The optional Prometheus endpoint: GET /metrics on 127.0.0.1 only.

import type { AddressInfo } from 'node:net';
import type { StatusReport } from '../ipc/protocol.ts';
import { prometheusText } from './status.ts';

/** Serves the counters of `status()` on 127.0.0.1:`port` (0 picks a free port). */
export async function startMetricsServer(port: number, status: () => StatusReport): Promise<{ port: number; close(): Promise<void> }> {
  // Not an ESM import: that would evaluate node:http's WebSocket getters and load undici (see
  // health/probes.ts).
  const server = process.getBuiltinModule('node:http').createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(status()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
