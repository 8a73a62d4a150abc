// The agent's link to AWS IoT Core, assembled: connection, outbox, subscription registry,
// counters, status file and the optional Prometheus listener. agent/main.ts builds one and
// hands its parts to the jobs engine.

import type { Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../common/clock.ts';
import { messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { AgentConfig } from './config.ts';
import { Connection } from './connection/connection.ts';
import { Subscriptions } from './connection/subscriptions.ts';
import { LinkMetrics, serveMetrics, type LinkSnapshot } from './metrics.ts';
import { Outbox } from './outbox/outbox.ts';
import { writeAgentStatus } from './status-file.ts';

export interface Link {
  connection: Connection;
  outbox: Outbox;
  subscriptions: Subscriptions;
  /** Port of the Prometheus listener, when configured. */
  metricsPort: number | undefined;
  snapshot(): LinkSnapshot;
  /** Stop taking work, persist, publish retained `offline`, disconnect; bounded by stopTimeoutMs × 2. */
  stop(): Promise<void>;
  /** Rewrites the status file now. */
  writeStatus(): Promise<void>;
}

export interface LinkDeps {
  config: AgentConfig;
  /** The agent's state dir (paths.agentDir): outbox.db and status.json live here. */
  agentDir: string;
  log: Logger;
  clock?: Clock;
  /** More fields for the status file (the running job, a power-fail), read at every write. */
  statusExtra?: () => Record<string, unknown>;
}

/** Build and start the link. */
export async function startLink(deps: LinkDeps): Promise<Link> {
  const { config, agentDir, log } = deps;
  const clock = deps.clock ?? systemClock;
  await mkdir(agentDir, { recursive: true });
  const connection = new Connection({ config: config.connection, log, clock });
  const metrics = new LinkMetrics();
  connection.onEvent((e) => metrics.record(e));
  const outbox = new Outbox({ path: join(agentDir, 'outbox.db'), config: config.outbox, link: connection, log, clock });
  const subscriptions = new Subscriptions({ connection, log });
  let outboxOpen = true;
  const snapshot = (): LinkSnapshot => ({
    connection: { state: connection.state.kind, ...metrics.counters },
    outbox: outboxOpen ? outbox.stats() : undefined,
  });

  let writing: Promise<void> = Promise.resolve();
  const writeStatus = (): Promise<void> => {
    writing = writing
      .then(() =>
        writeAgentStatus(agentDir, {
          pid: process.pid,
          updatedAt: new Date(clock.now()).toISOString(),
          thingName: config.connection.thingName,
          clientId: config.connection.clientId,
          ...snapshot(),
          ...deps.statusExtra?.(),
        }),
      )
      .catch((err: unknown) => log.warn({ event: 'status-write-failed', err: messageOf(err) }, 'status file not written'));
    return writing;
  };
  const statusTimer = setInterval(() => void writeStatus(), config.metrics.statusIntervalMs);
  const server: Server | undefined = config.metrics.port === undefined ? undefined : await serveMetrics(config.metrics.port, snapshot);
  const address = server?.address();

  outbox.start();
  connection.start();

  return {
    connection,
    outbox,
    subscriptions,
    metricsPort: typeof address === 'object' && address !== null ? address.port : undefined,
    snapshot,
    writeStatus,
    stop: async () => {
      clearInterval(statusTimer);
      const last = outbox.stats();
      await outbox.stop(config.connection.stopTimeoutMs / 2);
      outboxOpen = false;
      subscriptions.stop();
      await connection.stop();
      await writing;
      await writeAgentStatus(agentDir, {
        pid: process.pid,
        updatedAt: new Date(clock.now()).toISOString(),
        thingName: config.connection.thingName,
        clientId: config.connection.clientId,
        connection: { state: connection.state.kind, ...metrics.counters },
        outbox: { ...last, inFlight: 0 },
        ...deps.statusExtra?.(),
      }).catch(() => undefined);
      if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
