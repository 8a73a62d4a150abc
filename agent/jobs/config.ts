// The `agent.jobs` and `agent.update` sections of /etc/twinslot/config.json (next to the
// connection's sections parsed by agent/config.ts), and `device.deviceType`. Unknown keys are
// refused so a typo does not silently fall back to a default.

import { CodedError } from '../../common/errors.ts';
import type { BackoffPolicy } from '../../common/backoff.ts';
import type { StepTimeouts } from './phases.ts';

export interface JobsConfig {
  stepTimeouts: StepTimeouts;
  /** Backoff for RequestThrottled / InternalError / offline status updates. */
  updateBackoff: BackoffPolicy;
  operationTimeoutSeconds: number;
  /** Least time between two IN_PROGRESS progress updates. */
  progressIntervalMs: number;
  /** Closed journal entries kept for duplicate detection. */
  keepClosed: number;
  /** How often the supervisor's status is read while a trial runs (events are the fast path). */
  trialPollMs: number;
}

export interface UpdateConfig {
  /** PEM trust anchors for bundle downloads; absent → the system store. */
  caPath?: string;
  allowHttp: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  backoff: BackoffPolicy;
  /** Free space kept beyond the bundle and its extracted payload. */
  reserveBytes: number;
  /** Trust dir for bundle signatures; absent → paths.trustDir. */
  trustDir?: string;
}

export interface JobsSections {
  deviceType: string;
  jobs: JobsConfig;
  update: UpdateConfig;
  /** Keys still accepted but ignored (logged once at start as `config-deprecated`). */
  deprecated: string[];
}

/** Accepted for configs written before a reboot job went through the supervisor; ignored. */
const DEPRECATED_UPDATE_KEYS = ['rebootCommand'];

type Obj = Record<string, unknown>;

/** Parses the sections from the whole config object; throws CONFIG_INVALID naming the field. */
export function parseJobsSections(raw: unknown): JobsSections {
  const root = obj(raw, '(root)');
  const device = obj(root['device'], 'device');
  const agent = obj(root['agent'] ?? {}, 'agent');
  const deviceType = device['deviceType'] ?? 'generic';
  if (typeof deviceType !== 'string' || deviceType === '') throw invalid('device.deviceType', 'must be a non-empty string');
  const update = obj(agent['update'] ?? {}, 'agent.update');
  const deprecated = DEPRECATED_UPDATE_KEYS.filter((k) => k in update).map((k) => `agent.update.${k}`);
  return { deviceType, jobs: parseJobs(obj(agent['jobs'] ?? {}, 'agent.jobs')), update: parseUpdate(update), deprecated };
}

function parseJobs(j: Obj): JobsConfig {
  const at = 'agent.jobs';
  known(j, at, ['stepTimeouts', 'updateBackoff', 'operationTimeoutSeconds', 'progressIntervalMs', 'keepClosed', 'trialPollMs']);
  const st = obj(j['stepTimeouts'] ?? {}, `${at}.stepTimeouts`);
  const sat = `${at}.stepTimeouts`;
  known(st, sat, ['checkMinutes', 'downloadMinutes', 'installMinutes', 'trialMinutes', 'rebootMinutes']);
  return {
    stepTimeouts: {
      checkMinutes: int(st, sat, 'checkMinutes', 10, 1, 10080),
      downloadMinutes: int(st, sat, 'downloadMinutes', 60, 1, 10080),
      installMinutes: int(st, sat, 'installMinutes', 30, 1, 10080),
      trialMinutes: int(st, sat, 'trialMinutes', 30, 1, 10080),
      rebootMinutes: int(st, sat, 'rebootMinutes', 30, 1, 10080),
    },
    updateBackoff: backoff(j, at, 'updateBackoff', { baseMs: 1_000, maxMs: 60_000 }),
    operationTimeoutSeconds: int(j, at, 'operationTimeoutSeconds', 30, 1, 3600),
    progressIntervalMs: int(j, at, 'progressIntervalMs', 10_000, 0, 3_600_000),
    keepClosed: int(j, at, 'keepClosed', 100, 1, 100_000),
    trialPollMs: int(j, at, 'trialPollMs', 5_000, 50, 3_600_000),
  };
}

function parseUpdate(u: Obj): UpdateConfig {
  const at = 'agent.update';
  known(u, at, ['caPath', 'allowHttp', 'connectTimeoutMs', 'idleTimeoutMs', 'retries', 'backoff', 'reserveBytes', 'trustDir', ...DEPRECATED_UPDATE_KEYS]);
  const allowHttp = u['allowHttp'] ?? false;
  if (typeof allowHttp !== 'boolean') throw invalid(`${at}.allowHttp`, 'must be a boolean');
  const caPath = optStr(u, at, 'caPath');
  const trustDir = optStr(u, at, 'trustDir');
  return {
    ...(caPath === undefined ? {} : { caPath }),
    ...(trustDir === undefined ? {} : { trustDir }),
    allowHttp,
    connectTimeoutMs: int(u, at, 'connectTimeoutMs', 30_000, 100, 600_000),
    idleTimeoutMs: int(u, at, 'idleTimeoutMs', 60_000, 100, 3_600_000),
    retries: int(u, at, 'retries', 20, 0, 10_000),
    backoff: backoff(u, at, 'backoff', { baseMs: 2_000, maxMs: 120_000 }),
    reserveBytes: int(u, at, 'reserveBytes', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
  };
}

function invalid(path: string, message: string): CodedError {
  return new CodedError('CONFIG_INVALID', `${path}: ${message}`, { path });
}

function obj(value: unknown, at: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(at, 'must be an object');
  return value as Obj;
}

function known(o: Obj, at: string, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw invalid(`${at}.${k}`, `unknown key (known: ${keys.join(', ')})`);
}

function int(o: Obj, at: string, key: string, fallback: number, min: number, max: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${at}.${key}`, `must be an integer in [${min}, ${max}]`);
  return v;
}

function optStr(o: Obj, at: string, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`${at}.${key}`, 'must be a non-empty string');
  return v;
}

function backoff(o: Obj, at: string, key: string, fallback: BackoffPolicy): BackoffPolicy {
  const b = obj(o[key] ?? fallback, `${at}.${key}`);
  known(b, `${at}.${key}`, ['baseMs', 'maxMs']);
  const baseMs = int(b, `${at}.${key}`, 'baseMs', fallback.baseMs, 1, 86_400_000);
  return { baseMs, maxMs: int(b, `${at}.${key}`, 'maxMs', Math.max(baseMs, fallback.maxMs), baseMs, 86_400_000) };
}
