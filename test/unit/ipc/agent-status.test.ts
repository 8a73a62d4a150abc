// `agent-status`: what the agent may push about itself, checked field by field with a byte limit
// (ipc/validate.ts), and what the agent builds from its status file's content (agent/status-file.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentStatus, parseRequest } from '../../../ipc/validate.ts';
import { AGENT_STATUS_MAX_BYTES, type AgentStatusReport } from '../../../ipc/protocol.ts';
import { statusReport, type AgentStatus } from '../../../agent/status-file.ts';

const connection: AgentStatusReport['connection'] = {
  state: 'connected', connects: 3, rejoinedSessions: 1, disconnects: { 'server-disconnect': 2 }, connectFailures: 0, authFailures: 1,
  failovers: 0, lastReconnectDelayMs: 1234.5, reconnectDelayTotalMs: 9000,
};
const full: AgentStatusReport = {
  pid: 1234, updatedAt: '2026-01-02T03:04:05.678Z', thingName: 'dev-1', clientId: 'dev-1', connection,
  outbox: { depth: 1, bytes: 200, inFlight: 1, acked: 10, dropped: 0, refused: 0 },
  job: { jobId: 'job-7', executionNumber: 2, operation: 'install', phase: 'downloading', since: '2026-01-02T03:04:00.000Z', progress: 42, bytes: 1000 },
  powerFailAt: 1767323045678,
};

test('a full report and a minimal one parse into themselves, as a request too', () => {
  assert.deepEqual(parseAgentStatus(full), full);
  const minimal = { pid: 1, updatedAt: 'x', thingName: 't', clientId: 'c', connection: { ...connection, disconnects: {} } };
  assert.deepEqual(parseAgentStatus(minimal), minimal);
  assert.deepEqual(parseAgentStatus({ ...minimal, job: null }), { ...minimal, job: null });
  assert.deepEqual(parseRequest({ id: 9, method: 'agent-status', params: full }), { id: 9, method: 'agent-status', params: full });
});

const bad: Array<[string, unknown]> = [
  ['not an object', []],
  ['an unknown field', { ...full, shell: 'rm -rf /' }],
  ['an unknown connection field', { ...full, connection: { ...connection, x: 1 } }],
  ['an unknown job field', { ...full, job: { ...full.job, path: '/etc/shadow' } }],
  ['a pid of 0', { ...full, pid: 0 }],
  ['a string count', { ...full, connection: { ...connection, connects: '3' } }],
  ['a negative count', { ...full, outbox: { ...full.outbox, depth: -1 } }],
  ['an infinite delay', { ...full, connection: { ...connection, lastReconnectDelayMs: Infinity } }],
  ['a state with spaces', { ...full, connection: { ...connection, state: 'connected now' } }],
  ['a bad job id', { ...full, job: { ...full.job, jobId: '../../x' } }],
  ['a thing name with a newline', { ...full, thingName: 'dev\n1' }],
  ['too many disconnect reasons', { ...full, connection: { ...connection, disconnects: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`r${'-'.repeat(i)}`, 1])) } }],
  ['a disconnect reason that is not a word', { ...full, connection: { ...connection, disconnects: { 'Bad Reason': 1 } } }],
  ['a missing connection', { ...full, connection: undefined }],
  ['too many bytes', { ...full, padding: 'x'.repeat(AGENT_STATUS_MAX_BYTES) }],
];
for (const [what, value] of bad) {
  test(`refused with BAD_REQUEST: ${what}`, () => {
    assert.throws(() => parseAgentStatus(value), { code: 'BAD_REQUEST' });
    assert.throws(() => parseRequest({ id: 1, method: 'agent-status', params: value }), { code: 'BAD_REQUEST' });
  });
}

test('the byte limit is checked first; the largest well-formed report fits under it', () => {
  assert.throws(() => parseAgentStatus({ ...full, padding: 'x'.repeat(AGENT_STATUS_MAX_BYTES) }), /longer than 4096 bytes/);
  const n = 1.2345678901234567e+300;
  const largest: AgentStatusReport = {
    pid: Number.MAX_SAFE_INTEGER, updatedAt: 'u'.repeat(40), thingName: 't'.repeat(128), clientId: 'c'.repeat(128),
    connection: {
      state: `s${'-'.repeat(31)}`, connects: n, rejoinedSessions: n, connectFailures: n, authFailures: n, failovers: n, lastReconnectDelayMs: n, reconnectDelayTotalMs: n,
      disconnects: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${'r'.repeat(16 + i)}${'-'.repeat(16 - i)}`, n])),
    },
    outbox: { depth: n, bytes: n, inFlight: n, acked: n, dropped: n, refused: n },
    job: { jobId: 'j'.repeat(64), executionNumber: Number.MAX_SAFE_INTEGER, operation: `o${'-'.repeat(31)}`, phase: `p${'-'.repeat(31)}`, since: 's'.repeat(40), progress: n, bytes: n },
    powerFailAt: n,
  };
  assert.ok(JSON.stringify(largest).length <= AGENT_STATUS_MAX_BYTES, `${JSON.stringify(largest).length} bytes`);
  assert.deepEqual(parseAgentStatus(largest), largest);
});

test('the agent pushes its status file\'s content, without an outbox once it is closed', () => {
  const status: AgentStatus = { ...full, connection: { ...connection, state: 'stopped' }, outbox: undefined };
  const report = statusReport(status);
  assert.equal(report.connection.state, 'stopped');
  assert.equal('outbox' in report, false);
  assert.throws(() => statusReport({ ...status, job: { jobId: 'j', surprise: true } }), { code: 'AGENT_STATUS_INVALID' });
});
