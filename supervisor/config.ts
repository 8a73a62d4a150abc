// The supervisor's sections of /etc/twinslot/config.json (`supervisor`, `health`, `app`), parsed
// once, strictly, into typed settings with defaults: an unknown key, a wrong type or a value out
// of range is CONFIG_INVALID naming its JSON path. Other sections belong to other components.

import { readFileSync } from 'node:fs';
import { CodedError, messageOf } from '../common/errors.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import { Fields, isObj } from '../common/fields.ts';
import { parseHealthSpec } from '../common/health-spec.ts';

/** The unprivileged user install.sh creates for the application (`app.user`'s default). */
export const DEFAULT_APP_USER = 'twinslot-app';

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
  /** A manifest (or `app.user`) may name root only when this is set. */
  allowRootApps: boolean;
  /** `app.user`: the user an app whose manifest names none runs as, when the supervisor is root. */
  appUser: string;
  /** `app.allowedUsers`: the only accounts a manifest may name (default: just `app.user`). */
  allowedUsers: string[];
  /** `app.memoryMax`: the app's cgroup memory.max in bytes; null: no limit. */
  memoryMax: number | null;
  /** `app.cpuWeight`: the app's cgroup cpu.weight (1..10000); null: the kernel's default (100). */
  cpuWeight: number | null;
  /**
   * `supervisor.jobHttpProbePorts`: the loopback ports a job document's (an `activate` request's)
   * HTTP probe may target. Empty: a job document may not choose an HTTP probe.
   */
  jobHttpProbePorts: number[];
  /** Device health defaults (a bundle may override any field). */
  health: HealthSpec;
}


const SUPERVISOR_KEYS = [
  'watchdog', 'trial', 'rebootCommand', 'stopTimeoutMs', 'backoff', 'crashLoop',
  'socketGroup', 'agentUser', 'metricsPort', 'logLevel', 'allowRootApps', 'jobHttpProbePorts',
] as const;
const APP_KEYS = ['user', 'allowedUsers', 'memoryMax', 'cpuWeight'] as const;
// What a user or group name may look like (useradd's rule, plus a numeric id for groups).
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const DAY_MS = 86_400_000;
const BAD = 'CONFIG_INVALID';

/** Typed supervisor settings from the whole config object; CONFIG_INVALID names the bad field. */
export function parseSupervisorConfig(raw: unknown): SupervisorSettings {
  const root = new Fields(raw, '', BAD, isObj(raw) ? Object.keys(raw) : []); // other sections belong to others
  const s = root.sub('supervisor', SUPERVISOR_KEYS);
  const w = s.sub('watchdog', ['device', 'timeoutSeconds', 'maxLagMs', 'recordFile', 'recordBootStatus']);
  const t = s.sub('trial', ['attempts', 'loopLimit']);
  const b = s.sub('backoff', ['initialMs', 'factor', 'maxMs', 'stableMs']);
  const c = s.sub('crashLoop', ['restarts', 'windowMs']);
  const app = root.sub('app', APP_KEYS);
  const appUser = app.str('user', NAME, 'a user name') ?? DEFAULT_APP_USER;
  const port = s.optNum('metricsPort', 0, 65535);
  return {
    watchdog: {
      device: w.str('device', /^(none|recording|\/\S+)$/, 'a device path, "none" or "recording"') ?? '/dev/watchdog',
      timeoutSeconds: w.num('timeoutSeconds', 30, 1, 65535),
      maxLagMs: w.num('maxLagMs', 2000, 1, 600_000),
      recordFile: w.str('recordFile'),
      recordBootStatus: w.num('recordBootStatus', 0, 0, 0xffff_ffff),
    },
    trial: { attempts: t.num('attempts', 3, 1, 100), loopLimit: t.num('loopLimit', 10, 2, 1000) },
    rebootCommand: s.argv('rebootCommand', ['systemctl', 'reboot']) ?? [],
    stopTimeoutMs: s.num('stopTimeoutMs', 10_000, 1, DAY_MS),
    backoff: {
      initialMs: b.num('initialMs', 1000, 1, DAY_MS),
      factor: b.num('factor', 1.5, 1, 100, false),
      maxMs: b.num('maxMs', 15_000, 1, DAY_MS),
      stableMs: b.num('stableMs', 30_000, 1, DAY_MS),
    },
    crashLoop: { restarts: c.num('restarts', 10, 1, 1_000_000), windowMs: c.num('windowMs', 60_000, 1, DAY_MS) },
    socketGroup: s.str('socketGroup', /^([A-Za-z_][A-Za-z0-9_.-]{0,31}|\d+)$/, 'a group name or id'),
    agentUser: s.str('agentUser', NAME, 'a user name'),
    metricsPort: port ?? null,
    logLevel: s.oneOf('logLevel', ['debug', 'info', 'warn', 'error'], 'info'),
    allowRootApps: s.bool('allowRootApps', false),
    appUser,
    allowedUsers: app.names('allowedUsers', NAME, [appUser]),
    memoryMax: parseBytes(app, 'memoryMax'),
    cpuWeight: app.optNum('cpuWeight', 1, 10_000) ?? null,
    jobHttpProbePorts: s.ports('jobHttpProbePorts'),
    health: parseHealthSpec(root.o.health, 'health', BAD),
  };
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

// A byte count, as a number or as systemd writes it ("512M", "2G"); at least 1 MiB.
function parseBytes(f: Fields, key: string): number | null {
  const v = f.o[key];
  if (v === undefined || v === null) return null;
  const m = typeof v === 'string' ? /^(\d+)([KMGT]?)$/.exec(v) : null;
  const bytes = typeof v === 'number' ? v : m ? Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 ** 2) f.fail(key, `must be a byte count of at least 1 MiB (a number, or digits with K, M, G or T), got ${JSON.stringify(v)}`);
  return bytes;
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
