// The supervisor's IPC protocol: newline-delimited JSON over a unix socket. A request carries an
// id; its one response echoes it. After `subscribe`, event lines (no id) follow on that connection.
// Shared by the server, the typed client, the agent and the CLI.

import type { SlotName } from '../slots/paths.ts';
import type { Outcome, SlotState, Trial } from '../slots/state.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';

export type Request =
  | { id: RequestId; method: 'status' }
  | { id: RequestId; method: 'prepare-slot' }
  | { id: RequestId; method: 'slot-ready'; params: { slot: SlotName } }
  /** `health` (optional) overrides the device's and the manifest's health settings for this trial. */
  | { id: RequestId; method: 'activate'; params: { slot: SlotName; jobId: string; reboot?: boolean; health?: HealthSpec } }
  | { id: RequestId; method: 'rollback'; params: { jobId?: string } }
  | { id: RequestId; method: 'restart-app' }
  | { id: RequestId; method: 'power-fail' }
  /** Power is back without a shutdown: the app stopped by `power-fail` starts again. */
  | { id: RequestId; method: 'power-restored' }
  /** Ordered stop of the app, a `reboot` event, then `supervisor.rebootCommand` (refused during a trial). */
  | { id: RequestId; method: 'reboot'; params: { jobId?: string } }
  | { id: RequestId; method: 'subscribe' };

/** The supervisor's verdict on the app's health. */
export type HealthVerdict =
  | { state: 'starting' }
  | { state: 'healthy'; since: number }
  | { state: 'unhealthy'; reason: string; code: HealthFailureCode };

export type HealthFailureCode =
  | 'HEALTH_START_TIMEOUT'
  | 'HEALTH_HTTP_FAILED'
  | 'HEALTH_COMMAND_FAILED'
  | 'HEALTH_NOTIFY_TIMEOUT'
  | 'APP_EXITED'
  | 'APP_CRASH_LOOP';

export type RequestId = string | number;
export type Method = Request['method'];

/** What each method answers. */
export interface Results {
  status: StatusReport;
  'prepare-slot': { slot: SlotName; path: string };
  'slot-ready': { slot: SlotName; version: string; manifestSha256: string };
  activate: { slot: SlotName; version: string; attemptsLeft: number };
  rollback: { slot: SlotName; version: string; attemptsLeft: number };
  'restart-app': { restarted: boolean };
  'power-fail': { stopped: boolean };
  'power-restored': { restarted: boolean };
  reboot: { rebooting: true };
  subscribe: { subscribed: true };
}

export type Response =
  | { id: RequestId | null; ok: true; result: unknown }
  | { id: RequestId | null; ok: false; error: { code: string; message: string } };

export type SupervisorEvent =
  | { type: 'trial-started'; slot: SlotName; version: string; jobId: string; kind: Trial['kind']; attemptsLeft: number; reboot: boolean }
  | { type: 'committed'; slot: SlotName; version: string; jobId: string; kind: Trial['kind'] }
  | { type: 'rolled-back'; slot: SlotName; version: string; jobId: string; code: string; reason: string; committed: SlotName | null }
  | { type: 'power-fail'; at: number }
  | { type: 'power-restored'; at: number }
  /** Sent after the app stopped and just before the reboot command runs. */
  | { type: 'reboot'; jobId: string | null; at: number }
  | { type: 'crash-loop'; slot: SlotName | null; version: string | null; restarts: number; windowMs: number };

export interface EventLine {
  event: SupervisorEvent;
}

export interface Counters {
  restarts: number;
  crashes: number;
  healthFailures: number;
  trials: number;
  commits: number;
  rollbacks: number;
  pets: number;
  petsSkipped: number;
  crashLoops: number;
}

export interface WatchdogStatus {
  state: 'active' | 'absent' | 'closed';
  device: string | null;
  identity: string | null;
  timeoutSeconds: number | null;
  bootStatus: number | null;
  /** The last reboot was caused by the watchdog (boot status non-zero). */
  rebootedByWatchdog: boolean;
  lastPetAt: number | null;
}

export interface AppReport {
  slot: SlotName | null;
  version: string | null;
  pid: number | null;
  startedAt: number | null;
  uptimeMs: number | null;
  restarts: number;
  crashLoop: boolean;
  health: HealthVerdict | null;
}

/**
 * How the processes the app starts are made to die with it (supervisor/runner/containment.ts):
 * the running instance's, or the device's while no app runs. `warnings`: a configured limit that
 * is not applied, or why a stronger mode is not used.
 */
export type ContainmentReport =
  /** A cgroup v2 per instance, made under `root`; `cgroup` is the running one's. Limits as applied (null: none). */
  | { mode: 'cgroup'; root: string; cgroup: string | null; memoryMax: number | null; cpuWeight: number | null; warnings: string[] }
  /** No usable cgroup v2: a stop also SIGKILLs every process of the app's `uid` until none is left. */
  | { mode: 'uid-sweep'; uid: number | null; warnings: string[] }
  /** The app's process group only: a process that calls setsid can outlive a stop. */
  | { mode: 'process-group'; warnings: string[] };

export interface StatusReport {
  running: boolean;
  pid: number | null;
  bootId: string;
  current: SlotName | null;
  committed: SlotName | null;
  previous: SlotName | null;
  trial: Trial | null;
  lastOutcome: Outcome | null;
  slots: Record<SlotName, SlotState & { path: string }>;
  stateSource: 'state' | 'backup' | 'default';
  app: AppReport | null;
  watchdog: WatchdogStatus | null;
  counters: Counters | null;
  powerFail: boolean;
  /** Set by a running supervisor. */
  containment?: ContainmentReport;
  /** `<agentDir>/status.json`, verbatim, when the agent wrote one. */
  agent?: unknown;
}

/** Zeroed counters. */
export function zeroCounters(): Counters {
  return { restarts: 0, crashes: 0, healthFailures: 0, trials: 0, commits: 0, rollbacks: 0, pets: 0, petsSkipped: 0, crashLoops: 0 };
}
