// The agent link's counters reach the operator: a running link process writes
// <agentDir>/status.json, `twinslot status --json` shows it as its `agent` section, and the
// same counters are served as Prometheus text on agent.metrics.port, bound to 127.0.0.1 only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readAgentStatus, type AgentStatus } from '../../../../agent/status-file.ts';
import { devicePaths } from '../../../../slots/paths.ts';
import { startTestBroker } from '../../../helpers/broker.ts';
import { rawTestConfig } from '../../../fixtures/agent/config.ts';
import { runLinkProcess, until } from '../../../fixtures/agent/support.ts';

const CLI = join(import.meta.dirname, '../../../../bin/twinslot.js');
const MESSAGES = 5;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Local addresses (hex, as in /proc/net/tcp) of the sockets listening on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => f[1]?.split(':')[0] ?? '');
}

test('a running link: counters in `twinslot status --json` and as Prometheus text on 127.0.0.1', async (t) => {
  const tb = await startTestBroker(t);
  const creds = await tb.thing('dev-st');
  const root = await mkdtemp(join(tmpdir(), 'twinslot-agent-status-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const agentDir = devicePaths(root).agentDir;
  const port = await freePort();
  const raw = rawTestConfig({ thingName: 'dev-st', creds, caPath: tb.pki.caCert, ports: [tb.broker.port], metrics: { port, statusIntervalMs: 100 } });
  const link = await runLinkProcess(root, raw, agentDir, ['--enqueue', 'twinslot/dev-st/telemetry', '1', String(MESSAGES)]);
  t.after(() => link.kill9());

  const live = await until('status.json with the link connected and the outbox drained', () => {
    const status = readStatusSync(agentDir);
    return status?.connection.state === 'connected' && status.outbox?.acked === MESSAGES && status.outbox.depth === 0 ? status : undefined;
  });
  assert.equal(live.pid, link.child.pid);

  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'status', '--root', root, '--json']);
  const agent = (JSON.parse(stdout) as { agent?: AgentStatus }).agent;
  assert.ok(agent !== undefined, 'the report has an agent section');
  assert.equal(agent.thingName, 'dev-st');
  assert.equal(agent.pid, link.child.pid);
  assert.equal(agent.connection.state, 'connected');
  assert.equal(agent.connection.connects, 1);
  assert.equal(agent.outbox?.acked, MESSAGES);

  assert.deepEqual(listeners(port), ['0100007F'], 'the metrics port listens on 127.0.0.1 only');
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^twinslot_agent_connected 1$/m);
  assert.match(text, /^twinslot_agent_connects_total 1$/m);
  assert.match(text, new RegExp(`^twinslot_agent_outbox_acked_total ${MESSAGES}$`, 'm'));
  assert.match(text, /^twinslot_agent_outbox_depth 0$/m);
  assert.match(text, /^# TYPE twinslot_agent_disconnects_total counter$/m);
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);

  link.child.kill('SIGTERM');
  assert.equal(await link.exited, 0);
  const final = await readAgentStatus(agentDir);
  assert.equal(final?.connection.state, 'stopped');
  assert.equal(final?.outbox?.acked, MESSAGES);
});

function readStatusSync(agentDir: string): AgentStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(agentDir, 'status.json'), 'utf8')) as AgentStatus;
  } catch {
    return undefined;
  }
}
