// Checks one request line at the edge: anything that is not exactly a known request is refused
// with BAD_REQUEST before it reaches the supervisor.

import { CodedError } from '../common/errors.ts';
import { AGENT_STATUS_MAX_BYTES, type AgentStatusReport, type ClientRequest, type RequestId } from './protocol.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import { parseHealthSpec } from '../common/health-spec.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/; // AWS IoT job ids

function bad(message: string): never {
  throw new CodedError('BAD_REQUEST', message);
}

function noExtraKeys(o: Obj, allowed: string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length > 0) bad(`${where}: unknown field ${extra.join(', ')}`);
}

/**
 * The health settings an `activate` request may carry: those of a job document. A command probe
 * is refused here (it would choose what the device runs); an HTTP probe's target is checked by
 * the supervisor against the device's `supervisor.jobHttpProbePorts`.
 */
function activationHealth(value: unknown): HealthSpec {
  if (isObj(value) && value.command !== undefined) bad('activate: health.command: a command probe comes only from the device config or the signed manifest');
  return parseHealthSpec(value, 'activate: health', 'BAD_REQUEST');
}

/** The id of a line, when it has a usable one (so an error response can echo it). */
export function idOf(raw: unknown): RequestId | null {
  if (!isObj(raw)) return null;
  const id = raw.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

/** Parses a decoded JSON value into a Request, or throws BAD_REQUEST. */
export function parseRequest(raw: unknown): ClientRequest {
  if (!isObj(raw)) bad('a request is a JSON object');
  const id = idOf(raw);
  if (id === null) bad('id must be a string or a number');
  noExtraKeys(raw, ['id', 'method', 'params'], 'request');
  const params = raw.params ?? {};
  if (!isObj(params)) bad('params must be an object');
  const none = (): void => noExtraKeys(params, [], String(raw.method));
  switch (raw.method) {
    case 'status':
    case 'prepare-slot':
    case 'restart-app':
    case 'power-fail':
    case 'power-restored':
    case 'subscribe':
      none();
      return { id, method: raw.method };
    case 'slot-ready':
      noExtraKeys(params, ['slot'], 'slot-ready');
      if (params.slot !== 'a' && params.slot !== 'b') bad('slot-ready: slot must be "a" or "b"');
      return { id, method: 'slot-ready', params: { slot: params.slot } };
    case 'activate': {
      noExtraKeys(params, ['slot', 'jobId', 'reboot', 'health'], 'activate');
      if (params.slot !== 'a' && params.slot !== 'b') bad('activate: slot must be "a" or "b"');
      if (typeof params.jobId !== 'string' || !JOB_ID.test(params.jobId)) bad('activate: jobId must match [A-Za-z0-9_-]{1,64}');
      if (params.reboot !== undefined && typeof params.reboot !== 'boolean') bad('activate: reboot must be a boolean');
      const p: { slot: 'a' | 'b'; jobId: string; reboot?: boolean; health?: HealthSpec } = { slot: params.slot, jobId: params.jobId };
      if (params.reboot !== undefined) p.reboot = params.reboot;
      if (params.health !== undefined) p.health = activationHealth(params.health);
      return { id, method: 'activate', params: p };
    }
    case 'rollback':
    case 'reboot': {
      const method = raw.method;
      noExtraKeys(params, ['jobId'], method);
      if (params.jobId !== undefined && (typeof params.jobId !== 'string' || !JOB_ID.test(params.jobId))) bad(`${method}: jobId must match [A-Za-z0-9_-]{1,64}`);
      return { id, method, params: params.jobId === undefined ? {} : { jobId: params.jobId } };
    }
    case 'agent-status':
      return { id, method: 'agent-status', params: parseAgentStatus(params) };
    default:
      return bad(`unknown method ${JSON.stringify(raw.method)}`);
  }
}

const THING_NAME = /^[A-Za-z0-9:_-]{1,128}$/; // AWS IoT thing names
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/; // printable ASCII, as the agent's config takes it
const WORD = /^[a-z][a-z-]{0,31}$/; // a machine state or an operation
const MAX_TEXT = 128;
const MAX_DISCONNECT_REASONS = 16; // the agent has six

/**
 * Checks an agent status (the `agent-status` params, or status.json as the CLI reads it): every
 * field known and of its type, strings and maps bounded, AGENT_STATUS_MAX_BYTES in all. Throws a
 * CodedError of `code` naming the field.
 */
export function parseAgentStatus(value: unknown, code = 'BAD_REQUEST'): AgentStatusReport {
  const fail = (message: string): never => {
    throw new CodedError(code, `agent-status: ${message}`);
  };
  if (!isObj(value)) return fail('must be an object');
  if (Buffer.byteLength(JSON.stringify(value)) > AGENT_STATUS_MAX_BYTES) fail(`longer than ${AGENT_STATUS_MAX_BYTES} bytes`);
  const f = fieldReader(fail);
  f.keys(value, ['pid', 'updatedAt', 'thingName', 'clientId', 'connection', 'outbox', 'job', 'powerFailAt'], '');
  const c = value.connection;
  if (!isObj(c)) return fail('connection must be an object');
  f.keys(c, ['state', 'connects', 'rejoinedSessions', 'disconnects', 'connectFailures', 'authFailures', 'failovers', 'lastReconnectDelayMs', 'reconnectDelayTotalMs'], 'connection.');
  const d = c.disconnects;
  if (!isObj(d) || Object.keys(d).length > MAX_DISCONNECT_REASONS) return fail(`connection.disconnects must be an object of at most ${MAX_DISCONNECT_REASONS} reasons`);
  const disconnects: Record<string, number> = {};
  for (const reason of Object.keys(d)) disconnects[f.match(reason, 'connection.disconnects key', WORD)] = f.count(d[reason], `connection.disconnects.${reason}`);
  const report: AgentStatusReport = {
    pid: f.int(value.pid, 'pid', 1), updatedAt: f.text(value.updatedAt, 'updatedAt', 40),
    thingName: f.match(value.thingName, 'thingName', THING_NAME), clientId: f.match(value.clientId, 'clientId', CLIENT_ID),
    connection: {
      state: f.match(c.state, 'connection.state', WORD), connects: f.count(c.connects, 'connection.connects'),
      rejoinedSessions: f.count(c.rejoinedSessions, 'connection.rejoinedSessions'), disconnects,
      connectFailures: f.count(c.connectFailures, 'connection.connectFailures'), authFailures: f.count(c.authFailures, 'connection.authFailures'),
      failovers: f.count(c.failovers, 'connection.failovers'), lastReconnectDelayMs: f.count(c.lastReconnectDelayMs, 'connection.lastReconnectDelayMs'),
      reconnectDelayTotalMs: f.count(c.reconnectDelayTotalMs, 'connection.reconnectDelayTotalMs'),
    },
  };
  if (value.outbox !== undefined) {
    const o = value.outbox;
    if (!isObj(o)) return fail('outbox must be an object');
    f.keys(o, ['depth', 'bytes', 'inFlight', 'acked', 'dropped', 'refused'], 'outbox.');
    report.outbox = {
      depth: f.count(o.depth, 'outbox.depth'), bytes: f.count(o.bytes, 'outbox.bytes'), inFlight: f.count(o.inFlight, 'outbox.inFlight'),
      acked: f.count(o.acked, 'outbox.acked'), dropped: f.count(o.dropped, 'outbox.dropped'), refused: f.count(o.refused, 'outbox.refused'),
    };
  }
  if (value.job !== undefined) report.job = value.job === null ? null : agentJob(value.job, f, fail);
  if (value.powerFailAt !== undefined) report.powerFailAt = f.count(value.powerFailAt, 'powerFailAt');
  return report;
}

function agentJob(j: unknown, f: FieldReader, fail: (message: string) => never): NonNullable<AgentStatusReport['job']> {
  if (!isObj(j)) return fail('job must be an object or null');
  f.keys(j, ['jobId', 'executionNumber', 'operation', 'phase', 'since', 'progress', 'bytes'], 'job.');
  const job: NonNullable<AgentStatusReport['job']> = {
    jobId: f.match(j.jobId, 'job.jobId', JOB_ID), executionNumber: f.int(j.executionNumber, 'job.executionNumber', 0),
    operation: j.operation === null ? null : f.match(j.operation, 'job.operation', WORD),
    phase: f.match(j.phase, 'job.phase', WORD), since: f.text(j.since, 'job.since', 40),
  };
  if (j.progress !== undefined) job.progress = f.count(j.progress, 'job.progress');
  if (j.bytes !== undefined) job.bytes = f.count(j.bytes, 'job.bytes');
  return job;
}

interface FieldReader {
  keys(o: Obj, allowed: string[], prefix: string): void;
  text(v: unknown, where: string, max?: number): string;
  match(v: unknown, where: string, pattern: RegExp): string;
  count(v: unknown, where: string): number;
  int(v: unknown, where: string, min: number): number;
}

// Field checks that report through `fail`.
function fieldReader(fail: (message: string) => never): FieldReader {
  return {
    keys: (o, allowed, prefix) => {
      const extra = Object.keys(o).filter((k) => !allowed.includes(k));
      if (extra.length > 0) fail(`unknown field ${extra.map((k) => prefix + k).join(', ')}`);
    },
    text: (v, where, max = MAX_TEXT) => (typeof v === 'string' && v.length <= max ? v : fail(`${where} must be a string of at most ${max} characters`)),
    match: (v, where, pattern) => (typeof v === 'string' && pattern.test(v) ? v : fail(`${where} must match ${String(pattern)}`)),
    count: (v, where) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(`${where} must be a number ≥ 0`)),
    int: (v, where, min) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : fail(`${where} must be an integer ≥ ${min}`)),
  };
}
