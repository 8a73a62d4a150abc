// Starts and stops the app of one slot through the AppRunner port, and keeps the health monitor
// watching each instance the runner starts. It decides nothing about trials.

import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import type { DevicePaths, SlotName } from '../slots/paths.ts';
import type { AppRunner, AppRunnerEvent, AppSpec, HealthMonitor } from './ports.ts';
import type { AppReport } from '../ipc/protocol.ts';
import { mergeHealthSpec, type EffectiveHealthSpec } from './health/spec.ts';
import { sealedContent, type SealOptions } from './slot-seal.ts';
import type { Manifest } from '../bundle/manifest-types.ts';
import { chooseAppUser, type AppIdentity, type AppUserPolicy } from './app-user.ts';
import { parseHealthSpec } from '../common/health-spec.ts';
import { appProcessTree } from './health/app-tree.ts';

export interface RunningApp {
  slot: SlotName;
  version: string;
  spec: AppSpec;
  health: EffectiveHealthSpec;
  /** The app's account when the supervisor is root; command probes run as it too. */
  identity: AppIdentity | undefined;
}

export interface AppControlDeps {
  paths: DevicePaths;
  runner: AppRunner;
  health: HealthMonitor;
  clock: Clock;
  logger: Logger;
  bootId: string;
  /** Passed to the app as NOTIFY_SOCKET when set. */
  notifySocket: string | null;
  deviceHealth: () => HealthSpec;
  /** Read at every start, so a reloaded config applies to the next one. */
  userPolicy: () => AppUserPolicy;
  isRoot: boolean;
  seal: SealOptions;
  /** The running instance's own cgroup as /proc/<pid>/cgroup names it; null without one. */
  instanceCgroup?: () => string | null;
}

/** The app of the slot that should run, and its health monitor. */
export class AppControl {
  readonly #d: AppControlDeps;
  #running: RunningApp | null = null;
  readonly #offRunner: () => void;
  // Who may speak on the notify socket: the running instance's process tree.
  readonly #isAppProcess: (pid: number) => boolean;

  constructor(deps: AppControlDeps) {
    this.#d = deps;
    // A process the app started and that left its parent (re-parented to init) is still the
    // app's when it is in the instance's cgroup, which no process can leave by itself.
    this.#isAppProcess = appProcessTree({ mainPid: () => deps.runner.status().pid, ...(deps.instanceCgroup === undefined ? {} : { cgroup: deps.instanceCgroup }) });
    this.#offRunner = deps.runner.on((e) => this.#onRunner(e));
  }

  /**
   * Starts the app in `slot` (stopping what ran), judged by the device's health settings, the
   * manifest's and then `activation`'s. The slot must still be sealed and hold the manifest whose
   * digest is `manifestSha256` (slot-seal.ts). Throws SLOT_*, HEALTH_SPEC_INVALID or APP_USER_*
   * (and starts nothing) when it cannot.
   */
  async start(slot: SlotName, manifestSha256: string, activation?: HealthSpec): Promise<RunningApp> {
    await this.stop();
    const { manifest } = await sealedContent(this.#d.paths.slot(slot), `slot ${slot}`, manifestSha256, this.#d.seal);
    // The bundle checked its manifest; the supervisor still refuses what it would not run.
    const bundleHealth = manifest.health === undefined ? undefined : parseHealthSpec(manifest.health, `slot ${slot} manifest.health`, 'HEALTH_SPEC_INVALID');
    const identity = await this.identityFor(manifest);
    const entrypoint = { ...manifest.entrypoint };
    if (identity !== undefined) entrypoint.user = identity.name;
    const env: Record<string, string> = { TWINSLOT_SLOT: slot, TWINSLOT_VERSION: manifest.version };
    if (this.#d.notifySocket) env.NOTIFY_SOCKET = this.#d.notifySocket;
    const spec: AppSpec = { slotDir: this.#d.paths.slot(slot), name: manifest.name, version: manifest.version, entrypoint, env };
    const running: RunningApp = { slot, version: manifest.version, spec, health: mergeHealthSpec(this.#d.deviceHealth(), bundleHealth, activation), identity };
    this.#running = running;
    // Before the spawn: an app may report READY=1 at once, long before 'started' reaches us.
    // The socket's directory gets the app's group; only its processes are heard (NotifyAccess=all).
    await this.#d.health.prepare(running.health, { gid: identity?.gid ?? null, isAppProcess: this.#isAppProcess });
    this.#d.logger.info({ event: 'app-starting', slot, app: manifest.name, version: manifest.version }, 'starting app');
    await this.#d.runner.start(spec);
    return running;
  }

  /** The account `manifest`'s app would run as; APP_USER_NOT_ALLOWED or APP_USER_UNKNOWN when the device does not allow it. */
  identityFor(manifest: Manifest): Promise<AppIdentity | undefined> {
    return chooseAppUser(manifest.entrypoint.user, this.#d.userPolicy(), this.#d.isRoot);
  }

  /** Stops the app and its health checks; the runner does not restart it. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = null;
    this.#d.health.stop();
    await this.#d.runner.stop();
  }

  /** What runs now (null while stopped). */
  running(): RunningApp | null {
    return this.#running;
  }

  report(): AppReport | null {
    const r = this.#running;
    const s = this.#d.runner.status();
    if (!r) return null;
    return {
      slot: r.slot, version: r.version, pid: s.pid, startedAt: s.startedAt,
      uptimeMs: s.startedAt === null ? null : Math.max(0, this.#d.clock.now() - s.startedAt),
      restarts: s.restarts, crashLoop: s.crashLoop, health: s.pid === null ? null : this.#d.health.verdict(),
    };
  }

  dispose(): void {
    this.#offRunner();
  }

  #onRunner(e: AppRunnerEvent): void {
    const r = this.#running;
    if (!r || e.type !== 'started') return;
    this.#d.health.stop(); // the runner recorded the instance (orphan.ts) before it ran the app
    this.#d.health.start(r.health, e.at, r.identity === undefined ? undefined : { uid: r.identity.uid, gid: r.identity.gid });
  }
}
