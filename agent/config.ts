// The agent's section of /etc/twinslot/config.json, parsed once into typed values. Every
// field has a default that suits a device in the field; tests shorten the timings.

import { CodedError } from '../common/errors.ts';
import type { BackoffPolicy } from '../common/backoff.ts';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ConnectionConfig {
  thingName: string;
  /** The agent's own MQTT client id; the application must use another one. */
  clientId: string;
  /** Primary first; later entries are disaster-recovery endpoints. */
  endpoints: Endpoint[];
  certPath: string;
  keyPath: string;
  /** Trust anchor for the broker; absent → the system trust store. */
  caPath?: string;
  keepAliveSeconds: number;
  pingTimeoutMs: number;
  connackTimeoutMs: number;
  sessionExpirySeconds: number;
  /** Normal reconnects (network loss, broker restart). */
  backoff: BackoffPolicy;
  /** Refused credentials: retries slow to minutes. */
  authBackoff: BackoffPolicy;
  /** Disconnected because another process took the client id over. */
  takeoverBackoff: BackoffPolicy;
  /** A connection that lasted this long resets the retry attempt counter. */
  stableAfterMs: number;
  /** Consecutive failures on one endpoint before the next is tried. */
  failoverAfter: number;
  /** Time on a non-primary endpoint before the primary is tried again. */
  returnToPrimaryMs: number;
  healthCheckMs: number;
  stopTimeoutMs: number;
  /** `aws-iot-core` applies AWS IoT Core's publish-rate and topic limits in the client. */
  flowControl: 'aws-iot-core' | 'none';
  /** Version info in the retained `online` status. */
  version: string;
}

export interface OutboxConfig {
  maxMessages: number;
  maxBytes: number;
  maxAgeSeconds: number;
  onFull: 'drop-oldest' | 'refuse-new';
  /** QoS 1 publishes awaiting PUBACK at once; AWS IoT Core allows 100. */
  maxInFlight: number;
}

export interface MetricsConfig {
  /** Prometheus text on 127.0.0.1:<port>; absent → no listener. */
  port?: number;
  statusIntervalMs: number;
}

export interface AgentConfig {
  connection: ConnectionConfig;
  outbox: OutboxConfig;
  metrics: MetricsConfig;
}

/** Parse the whole config file's object; throws CONFIG_INVALID naming the bad field. */
export function parseAgentConfig(raw: unknown, version = '0.0.0'): AgentConfig {
  const root = section(raw, '');
  const device = section(root['device'], 'device');
  const thingName = str(device, 'device', 'thingName');
  if (/[/#+]/.test(thingName)) throw new CodedError('CONFIG_INVALID', 'device.thingName must not contain / # +');
  const agent = section(root['agent'] ?? {}, 'agent');
  return {
    connection: parseConnection(section(agent['connection'], 'agent.connection'), thingName, version),
    outbox: parseOutbox(section(agent['outbox'] ?? {}, 'agent.outbox')),
    metrics: parseMetrics(section(agent['metrics'] ?? {}, 'agent.metrics')),
  };
}

function parseConnection(c: Record<string, unknown>, thingName: string, version: string): ConnectionConfig {
  const at = 'agent.connection';
  const keepAliveSeconds = num(c, at, 'keepAliveSeconds', 60, 1, 65535);
  const caPath = optionalStr(c, at, 'caPath');
  return {
    thingName,
    clientId: optionalStr(c, at, 'clientId') ?? thingName,
    endpoints: endpoints(c, at, num(c, at, 'port', 8883, 1, 65535)),
    certPath: str(c, at, 'certPath'),
    keyPath: str(c, at, 'keyPath'),
    ...(caPath === undefined ? {} : { caPath }),
    keepAliveSeconds,
    pingTimeoutMs: num(c, at, 'pingTimeoutMs', Math.min(10_000, keepAliveSeconds * 500), 100, 600_000),
    connackTimeoutMs: num(c, at, 'connackTimeoutMs', 20_000, 100, 600_000),
    sessionExpirySeconds: num(c, at, 'sessionExpirySeconds', 3600, 0, 2 ** 32 - 1),
    backoff: backoff(c, at, 'backoff', { baseMs: 10_000, maxMs: 300_000 }),
    authBackoff: backoff(c, at, 'authBackoff', { baseMs: 60_000, maxMs: 900_000 }),
    takeoverBackoff: backoff(c, at, 'takeoverBackoff', { baseMs: 30_000, maxMs: 600_000 }),
    stableAfterMs: num(c, at, 'stableAfterMs', 30_000, 0, 86_400_000),
    failoverAfter: num(c, at, 'failoverAfter', 3, 1, 1000),
    returnToPrimaryMs: num(c, at, 'returnToPrimaryMs', 1_800_000, 100, 604_800_000),
    healthCheckMs: num(c, at, 'healthCheckMs', 30_000, 50, 86_400_000),
    stopTimeoutMs: num(c, at, 'stopTimeoutMs', 5_000, 100, 600_000),
    flowControl: oneOf(c, at, 'flowControl', ['aws-iot-core', 'none'] as const, 'aws-iot-core'),
    version,
  };
}

function parseOutbox(o: Record<string, unknown>): OutboxConfig {
  const at = 'agent.outbox';
  return {
    maxMessages: num(o, at, 'maxMessages', 100_000, 1, 100_000_000),
    maxBytes: num(o, at, 'maxBytes', 64 * 1024 * 1024, 1024, 2 ** 40),
    maxAgeSeconds: num(o, at, 'maxAgeSeconds', 7 * 86_400, 1, 10 * 365 * 86_400),
    onFull: oneOf(o, at, 'onFull', ['drop-oldest', 'refuse-new'] as const, 'drop-oldest'),
    maxInFlight: num(o, at, 'maxInFlight', 100, 1, 100),
  };
}

function parseMetrics(m: Record<string, unknown>): MetricsConfig {
  const at = 'agent.metrics';
  const port = m['port'] === undefined ? undefined : num(m, at, 'port', 0, 1, 65535);
  return {
    ...(port === undefined ? {} : { port }),
    statusIntervalMs: num(m, at, 'statusIntervalMs', 10_000, 50, 3_600_000),
  };
}

type Obj = Record<string, unknown>;

function invalid(path: string, message: string): CodedError {
  return new CodedError('CONFIG_INVALID', `${path}: ${message}`, { path });
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function section(value: unknown, at: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(at || '(root)', 'must be an object');
  return value as Obj;
}

function str(o: Obj, at: string, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw invalid(join(at, key), 'must be a non-empty string');
  return v;
}

function optionalStr(o: Obj, at: string, key: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, at, key);
}

function num(o: Obj, at: string, key: string, fallback: number, min: number, max: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(join(at, key), `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, at: string, key: string, allowed: readonly T[], fallback: T): T {
  const v = o[key] ?? fallback;
  if (!allowed.includes(v as T)) throw invalid(join(at, key), `must be one of ${allowed.join(', ')}`);
  return v as T;
}

function backoff(o: Obj, at: string, key: string, fallback: BackoffPolicy): BackoffPolicy {
  const b = section(o[key] ?? fallback, join(at, key));
  const baseMs = num(b, join(at, key), 'baseMs', fallback.baseMs, 1, 86_400_000);
  const maxMs = num(b, join(at, key), 'maxMs', Math.max(baseMs, fallback.maxMs), baseMs, 86_400_000);
  return { baseMs, maxMs };
}

// Accepts "host", "host:port" or {host, port}.
function endpoints(o: Obj, at: string, defaultPort: number): Endpoint[] {
  const list = o['endpoints'];
  if (!Array.isArray(list) || list.length === 0) throw invalid(join(at, 'endpoints'), 'must be a non-empty array');
  return list.map((entry: unknown, i) => {
    const path = `${join(at, 'endpoints')}[${i}]`;
    if (typeof entry === 'string') {
      const m = /^([^:\s]+)(?::(\d+))?$/.exec(entry);
      if (m === null || m[1] === undefined) throw invalid(path, 'must be "host" or "host:port"');
      return { host: m[1], port: m[2] === undefined ? defaultPort : num({ port: Number(m[2]) }, path, 'port', 0, 1, 65535) };
    }
    const e = section(entry, path);
    return { host: str(e, path, 'host'), port: num(e, path, 'port', defaultPort, 1, 65535) };
  });
}
