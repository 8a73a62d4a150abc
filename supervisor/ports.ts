// The supervisor's parts, as ports. supervisor/main.ts builds the real ones; the trial machine
// and its executor only see these interfaces.

import type { HealthSpec, Entrypoint } from '../bundle/manifest-types.ts';

// ---- watchdog ---------------------------------------------------------------------------

export interface WatchdogInfo {
  identity: string;
  timeoutSeconds: number;
  /** WDIOC_GETBOOTSTATUS flags; non-zero when the last reboot was caused by the watchdog. */
  bootStatus: number;
  /** WDIOF_* option bits from WDIOC_GETSUPPORT. */
  options: number;
}

/** A watchdog device. `open` arms it: from then on it must be pet or the machine resets. */
export interface Watchdog {
  open(timeoutSeconds: number): Promise<WatchdogInfo>;
  pet(): void;
  /** Clean stop: writes the magic 'V' and closes, disarming the device. */
  closeMagic(): void;
  /** Close without the magic character: the device stays armed (used on crash paths). */
  closeArmed(): void;
}

// ---- app runner -------------------------------------------------------------------------

export interface AppSpec {
  /** Directory the app runs from (the `current` symlink, resolved when started). */
  slotDir: string;
  name: string;
  version: string;
  entrypoint: Entrypoint;
  /** Extra environment set by the supervisor (NOTIFY_SOCKET, TWINSLOT_SLOT, ...). */
  env: Record<string, string>;
}

export type AppRunnerEvent =
  | { type: 'started'; pid: number; at: number }
  | { type: 'exited'; pid: number; code: number | null; signal: string | null; uptimeMs: number; at: number }
  | { type: 'crash-loop'; restarts: number; windowMs: number; at: number }
  | { type: 'restart-scheduled'; delayMs: number; restarts: number; at: number };

export interface AppStatus {
  pid: number | null;
  startedAt: number | null;
  restarts: number;
  crashLoop: boolean;
}

/** Runs one app at a time, restarting it with backoff when it exits. */
export interface AppRunner {
  /** Starts `spec` (stopping whatever ran before). */
  start(spec: AppSpec): Promise<void>;
  /** SIGTERM to the process group, SIGKILL after the stop timeout; no restart afterwards. */
  stop(): Promise<void>;
  status(): AppStatus;
  on(listener: (event: AppRunnerEvent) => void): () => void;
}

// ---- health -----------------------------------------------------------------------------

/** Who a command probe runs as: the app's uid and primary gid, no supplementary groups. */
export interface ProbeIdentity {
  uid: number;
  gid: number;
}

/** Who may speak on the notify socket for the app about to start (health/app-tree.ts builds the predicate). */
export interface NotifyAccess {
  /** The app's primary gid: the socket's directory becomes root:<gid> 0750. null: not root, nothing is chowned. */
  gid: number | null;
  /** Whether `pid` (a datagram's sender, as the kernel tells it) is a process of the app. */
  isAppProcess(pid: number): boolean;
}

export type { HealthFailureCode, HealthVerdict } from '../ipc/protocol.ts';
import type { HealthVerdict } from '../ipc/protocol.ts';

/** Watches one running instance of the app and tells whether it is healthy. */
export interface HealthMonitor {
  /**
   * Readies what an app judged by `spec` reports to, before runner.start() spawns it: binds the
   * notify socket when the spec uses the notify check (it then stays bound across restarts until
   * close()) and forgets what an earlier instance sent. Never rejects: a socket that cannot be
   * bound fails the next monitoring period instead. Only `access`'s processes are heard on the
   * socket (absent: the runner's main process and its descendants; the socket's owner unchanged).
   */
  prepare(spec: HealthSpec, access?: NotifyAccess): Promise<void>;
  /**
   * Begins checking the instance started at `startedAt` with the effective spec (device merged
   * with bundle), counting what it sent since it was spawned. Call it when the runner reports
   * 'started', and call stop() before stopping the app: an exit while monitored is a failure (APP_EXITED).
   */
  /** `identity`: the uid and gid command probes run with (the app's); absent: the supervisor's own. */
  start(spec: HealthSpec, startedAt: number, identity?: ProbeIdentity): void;
  stop(): void;
  /** stop(), and releases the notify socket (on shutdown). */
  close(): void;
  verdict(): HealthVerdict;
  on(listener: (verdict: HealthVerdict) => void): () => void;
}
