// The agent link's counters: fed by connection events and the outbox, written to the status
// file and served as Prometheus text on an optional 127.0.0.1 port.

import type { Server } from 'node:http';
import type { ConnectionEvent, ConnectionState } from './connection/machine.ts';
import type { OutboxStats } from './outbox/outbox.ts';
import type { AgentConnectionReport } from '../ipc/protocol.ts';

/** The connection's counters: the contract's report (ipc/protocol.ts), with the machine's own state type. */
export interface LinkCounters extends Omit<AgentConnectionReport, 'state'> {
  state: ConnectionState['kind'];
}

export interface LinkSnapshot {
  connection: LinkCounters;
  outbox: OutboxStats | undefined;
}

/** Counters kept from connection events. */
export class LinkMetrics {
  readonly counters: Omit<LinkCounters, 'state'> = {
    connects: 0,
    rejoinedSessions: 0,
    disconnects: {},
    connectFailures: 0,
    authFailures: 0,
    failovers: 0,
    lastReconnectDelayMs: 0,
    reconnectDelayTotalMs: 0,
  };

  /** Count one connection event. */
  record(e: ConnectionEvent): void {
    const c = this.counters;
    if (e.type === 'connected') {
      c.connects += 1;
      if (e.rejoinedSession) c.rejoinedSessions += 1;
    } else if (e.type === 'interrupted') c.disconnects[e.reason] = (c.disconnects[e.reason] ?? 0) + 1;
    else if (e.type === 'connect-failed') c.connectFailures += 1;
    else if (e.type === 'auth-failed') c.authFailures += 1;
    else if (e.type === 'failover') c.failovers += 1;
    else if (e.type === 'retry-scheduled') {
      c.lastReconnectDelayMs = e.delayMs;
      c.reconnectDelayTotalMs += e.delayMs;
    }
  }
}

/** Prometheus text exposition of a snapshot. */
export function prometheusText(s: LinkSnapshot): string {
  const c = s.connection;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('twinslot_agent_connected', 'gauge', 'Whether the MQTT connection is established.', [['', c.state === 'connected' ? 1 : 0]]);
  metric('twinslot_agent_connects_total', 'counter', 'Successful connections.', [['', c.connects]]);
  metric('twinslot_agent_rejoined_sessions_total', 'counter', 'Connections that rejoined the persistent session.', [['', c.rejoinedSessions]]);
  metric('twinslot_agent_disconnects_total', 'counter', 'Established connections that ended, by reason.',
    Object.entries(c.disconnects).map(([reason, n]) => [`{reason="${reason}"}`, n]));
  metric('twinslot_agent_connect_failures_total', 'counter', 'Failed attempts other than refused credentials.', [['', c.connectFailures]]);
  metric('twinslot_agent_auth_failures_total', 'counter', 'Attempts refused for credentials.', [['', c.authFailures]]);
  metric('twinslot_agent_failovers_total', 'counter', 'Endpoint switches.', [['', c.failovers]]);
  metric('twinslot_agent_reconnect_delay_ms', 'gauge', 'The last retry delay chosen.', [['', c.lastReconnectDelayMs]]);
  if (s.outbox !== undefined) {
    const o = s.outbox;
    metric('twinslot_agent_outbox_depth', 'gauge', 'Messages waiting for PUBACK.', [['', o.depth]]);
    metric('twinslot_agent_outbox_bytes', 'gauge', 'Bytes held in the outbox.', [['', o.bytes]]);
    metric('twinslot_agent_outbox_in_flight', 'gauge', 'QoS 1 publishes awaiting PUBACK.', [['', o.inFlight]]);
    metric('twinslot_agent_outbox_acked_total', 'counter', 'Messages acknowledged and removed.', [['', o.acked]]);
    metric('twinslot_agent_outbox_dropped_total', 'counter', 'Messages dropped by the bound policy or refused by the broker.', [['', o.dropped]]);
    metric('twinslot_agent_outbox_refused_total', 'counter', 'publish() calls refused (outbox full).', [['', o.refused]]);
  }
  return `${lines.join('\n')}\n`;
}

/** Serve `/metrics` on 127.0.0.1:`port` (0 = any free port); resolves with the server. */
export async function serveMetrics(port: number, snapshot: () => LinkSnapshot): Promise<Server> {
  // Loaded only when a port is configured: node:http costs ~10 MiB of RSS in an idle agent.
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(snapshot()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
