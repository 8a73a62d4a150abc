// The supervisor's sections of /etc/twinslot/config.json (`supervisor`, `health`), parsed once
// into typed settings with defaults. Other sections belong to other components and are ignored.

import { readFileSync } from 'node:fs';
import { CodedError, messageOf } from '../common/errors.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';

export interface WatchdogSettings {
  /** A device path, `recording` (a test double that journals to `recordFile`) or `none`. */
  device: string;
  timeoutSeconds: number;
  /** Event-loop lag above which pets are skipped. */
  maxLagMs: number;
  recordFile: string | null;
  /** Boot status the recording double reports (tests of watchdog-caused reboots). */
  recordBootStatus: number;
}

export interface SupervisorSettings {
  watchdog: WatchdogSettings;
  trial: { attempts: number; loopLimit: number };
  rebootCommand: string[];
  stopTimeoutMs: number;
  backoff: { initialMs: number; factor: number; maxMs: number; stableMs: number };
  crashLoop: { restarts: number; windowMs: number };
  /** Group given to the IPC socket (mode 0660); null keeps the process's group. */
  socketGroup: string | null;
  /** User that owns a prepared slot when the supervisor runs as root. */
  agentUser: string | null;
  metricsPort: number | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Device health defaults (a bundle may override any field). */
  health: HealthSpec;
}


type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, want: string): never {
  throw new CodedError('CONFIG_INVALID', `config ${path}: expected ${want}`);
}

function num(o: Obj, key: string, path: string, dflt: number, min = 0): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) bad(`${path}.${key}`, `a number ≥ ${min}`);
  return v;
}

function str(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '') bad(`${path}.${key}`, 'a non-empty string');
  return v;
}

function section(o: Obj, key: string, path: string): Obj {
  const v = o[key] ?? {};
  if (!isObj(v)) bad(`${path}.${key}`, 'an object');
  return v;
}

/** Typed supervisor settings from the whole config object. */
export function parseSupervisorConfig(raw: unknown): SupervisorSettings {
  if (!isObj(raw)) bad('', 'a JSON object');
  const s = section(raw, 'supervisor', '');
  const w = section(s, 'watchdog', 'supervisor');
  const t = section(s, 'trial', 'supervisor');
  const b = section(s, 'backoff', 'supervisor');
  const c = section(s, 'crashLoop', 'supervisor');
  const reboot = s.rebootCommand ?? ['systemctl', 'reboot'];
  if (!Array.isArray(reboot) || reboot.length === 0 || !reboot.every((x) => typeof x === 'string')) bad('supervisor.rebootCommand', 'an argv array');
  const level = s.logLevel ?? 'info';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') bad('supervisor.logLevel', 'debug|info|warn|error');
  const port = s.metricsPort;
  if (port !== undefined && port !== null && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)) bad('supervisor.metricsPort', 'a TCP port');
  const health = raw.health ?? {};
  if (!isObj(health)) bad('health', 'an object');
  return {
    watchdog: {
      device: str(w, 'device', 'supervisor.watchdog') ?? '/dev/watchdog',
      timeoutSeconds: num(w, 'timeoutSeconds', 'supervisor.watchdog', 30, 1),
      maxLagMs: num(w, 'maxLagMs', 'supervisor.watchdog', 2000, 1),
      recordFile: str(w, 'recordFile', 'supervisor.watchdog'),
      recordBootStatus: num(w, 'recordBootStatus', 'supervisor.watchdog', 0),
    },
    trial: { attempts: num(t, 'attempts', 'supervisor.trial', 3, 1), loopLimit: num(t, 'loopLimit', 'supervisor.trial', 10, 2) },
    rebootCommand: reboot,
    stopTimeoutMs: num(s, 'stopTimeoutMs', 'supervisor', 10_000, 1),
    backoff: {
      initialMs: num(b, 'initialMs', 'supervisor.backoff', 1000, 1),
      factor: num(b, 'factor', 'supervisor.backoff', 1.5, 1),
      maxMs: num(b, 'maxMs', 'supervisor.backoff', 15_000, 1),
      stableMs: num(b, 'stableMs', 'supervisor.backoff', 30_000, 1),
    },
    crashLoop: { restarts: num(c, 'restarts', 'supervisor.crashLoop', 10, 1), windowMs: num(c, 'windowMs', 'supervisor.crashLoop', 60_000, 1) },
    socketGroup: str(s, 'socketGroup', 'supervisor'),
    agentUser: str(s, 'agentUser', 'supervisor'),
    metricsPort: typeof port === 'number' ? port : null,
    logLevel: level,
    health: health,
  };
}

/** Reads and parses the config file; CONFIG_INVALID says what is wrong. */
export function loadSupervisorConfig(file: string): SupervisorSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CodedError('CONFIG_UNREADABLE', `cannot read ${file}: ${messageOf(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CodedError('CONFIG_INVALID', `${file} is not JSON: ${messageOf(err)}`);
  }
  return parseSupervisorConfig(raw);
}
