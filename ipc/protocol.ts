// The supervisor's IPC protocol: newline-delimited JSON over a unix socket. A request carries an
// id; its one response echoes it. After `subscribe`, event lines (no id) follow on that connection.
// Shared by the server, the typed client, the agent and the CLI.
//
// The server bounds every connection (IPC_LIMITS below, enforced by supervisor/ipc-server.ts).

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

/**
 * The agent's own status, pushed on its status timer and at its stop; the supervisor keeps the
 * last one in memory (never a file the agent can write) and shows it in `status` as `agent`.
 * Sent by the agent only: the socket (0660, group `supervisor.socketGroup`, the agent's group)
 * lets in root and that group and no one else, which is the peer check; the app and other users
 * cannot connect. Checked by ipc/validate.ts: known fields and types, AGENT_STATUS_MAX_BYTES.
 */
export interface AgentStatusRequest {
  id: RequestId;
  method: 'agent-status';
  params: AgentStatusReport;
}

/** Every line a client may send: the requests the supervisor executes, and the agent's status. */
export type ClientRequest = Request | AgentStatusRequest;

export type RequestId = string | number;
export type Method = ClientRequest['method'];

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
  'agent-status': { received: true };
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
  /** The agent's last pushed status (or, from `twinslot status` with no supervisor answering, its status.json). */
  agent?: AgentSection;
}

/** What the server holds for a connection at most; past each bound the client is refused or dropped. */
export interface IpcLimits {
  /** A request line without its newline; past it: BAD_REQUEST, then the connection ends. */
  maxLineBytes: number;
  /** Connections at once; more are closed at once. */
  maxConnections: number;
  /** Requests in flight on one connection; more are refused with BUSY. */
  maxInFlight: number;
  /** A connection with no subscription and nothing in flight ends after this much silence. */
  idleMs: number;
  /** Answers and events written but not read by the client; past it the connection is dropped. */
  maxUnreadBytes: number;
}

export const IPC_LIMITS: Readonly<IpcLimits> = { maxLineBytes: 64 * 1024, maxConnections: 64, maxInFlight: 16, idleMs: 60_000, maxUnreadBytes: 256 * 1024 };

/** Serialized `agent-status` params may not be longer than this. */
export const AGENT_STATUS_MAX_BYTES = 4096;

/** What the agent reports about itself (agent/status-file.ts builds it). */
export interface AgentStatusReport {
  pid: number;
  /** ISO time of the agent's clock when it made the report. */
  updatedAt: string;
  thingName: string;
  clientId: string;
  connection: AgentConnectionReport;
  /** Absent once the outbox is closed (at stop). */
  outbox?: AgentOutboxReport;
  /** The job being worked on; null when idle. */
  job?: AgentJobReport | null;
  /** Epoch ms of a handled power-fail notice. */
  powerFailAt?: number;
}

export interface AgentConnectionReport {
  /** The connection machine's state (`connected`, `backoff`, `stopped`, ...). */
  state: string;
  connects: number;
  rejoinedSessions: number;
  /** Ended connections by reason. */
  disconnects: Record<string, number>;
  connectFailures: number;
  authFailures: number;
  failovers: number;
  /** The last retry delay chosen, and their sum, in ms. */
  lastReconnectDelayMs: number;
  reconnectDelayTotalMs: number;
}

export interface AgentOutboxReport {
  depth: number;
  bytes: number;
  inFlight: number;
  acked: number;
  dropped: number;
  refused: number;
}

export interface AgentJobReport {
  jobId: string;
  executionNumber: number;
  operation: string | null;
  phase: string;
  since: string;
  /** Percent of the current step (the download), when it reports one. */
  progress?: number;
  bytes?: number;
}

/** The agent's status in a status report, with where it came from and how old it is. */
export type AgentSection = AgentStatusReport & {
  /** Pushed to the running supervisor, or read from status.json by `twinslot status` while none answers. */
  source: 'supervisor' | 'file';
  /** Epoch ms it arrived (pushed) or was written (the file's mtime). */
  receivedAt: number;
  /** Its age when the report was made. */
  ageMs: number;
};

/** Zeroed counters. */
export function zeroCounters(): Counters {
  return { restarts: 0, crashes: 0, healthFailures: 0, trials: 0, commits: 0, rollbacks: 0, pets: 0, petsSkipped: 0, crashLoops: 0 };
}
