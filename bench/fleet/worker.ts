// A worker process of the fleet benchmark: a few hundred simulated devices in one event loop.
// It reads their certificates on `init`, connects them all at once on `connect`, and forwards
// every device event to the coordinator over IPC.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SimDevice, type DeviceEvents } from './device.ts';
import type { FromWorker, ToWorker, WorkerStats } from './protocol.ts';

let devices: SimDevice[] = [];
let overdue: NodeJS.Timeout | undefined;

function send(message: FromWorker): void {
  process.send?.(message);
}

function eventsFor(thing: string): DeviceEvents {
  return {
    connected: (attempts) => send({ type: 'connected', thing, at: Date.now(), attempts }),
    reconnected: () => send({ type: 'reconnected', thing, at: Date.now() }),
    connectFailed: (error) => send({ type: 'connect-failed', thing, at: Date.now(), error }),
    jobStarted: (jobId) => send({ type: 'job-started', thing, jobId, at: Date.now() }),
    jobDone: (jobId) => send({ type: 'job-done', thing, jobId, at: Date.now() }),
    jobDuplicate: (jobId) => send({ type: 'job-duplicate', thing, jobId, at: Date.now() }),
    jobError: (jobId, error) => send({ type: 'job-error', thing, jobId, error }),
  };
}

async function init(msg: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const ca = await readFile(msg.caPath);
  devices = await Promise.all(msg.things.map(async (thing) => {
    const [cert, key] = await Promise.all([readFile(join(msg.thingsDir, `${thing}.crt`)), readFile(join(msg.thingsDir, `${thing}.key`))]);
    return new SimDevice({ thing, port: msg.port, ca, cert, key, events: eventsFor(thing) });
  }));
  send({ type: 'ready' });
}

function stats(): WorkerStats {
  const mem = process.memoryUsage();
  return {
    devices: devices.length, connected: devices.filter((d) => d.connected).length,
    requestRetries: devices.reduce((n, d) => n + d.retries, 0), rssBytes: mem.rss, heapUsedBytes: mem.heapUsed,
  };
}

async function stop(): Promise<never> {
  clearInterval(overdue);
  await Promise.all(devices.map((d) => d.stop()));
  process.exit(0);
}

process.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'init':
      void init(msg);
      return;
    case 'connect':
      for (const device of devices) device.start();
      overdue = setInterval(() => { const now = Date.now(); for (const d of devices) d.checkOverdue(now); }, 1000);
      return;
    case 'stats':
      send({ type: 'stats', stats: stats() });
      return;
    case 'stop':
      void stop();
      return;
    default: {
      const never: never = msg;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});
// The coordinator gone (Ctrl-C, crash): end every client and exit.
process.on('disconnect', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
