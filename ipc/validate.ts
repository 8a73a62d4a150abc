// Checks one request line at the edge: anything that is not exactly a known request is refused
// with BAD_REQUEST before it reaches the supervisor.

import { CodedError } from '../common/errors.ts';
import type { Request, RequestId } from './protocol.ts';
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
export function parseRequest(raw: unknown): Request {
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
    default:
      return bad(`unknown method ${JSON.stringify(raw.method)}`);
  }
}
