// Runs one app at a time: starts it, restarts it with backoff when it exits, reports crash
// loops, and stops it on request together with every process it started (its containment).

import { systemClock, type Clock } from '../../common/clock.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ContainmentReport } from '../../ipc/protocol.ts';
import type { AppRunner, AppRunnerEvent, AppSpec, AppStatus } from '../ports.ts';
import { Containment } from './containment.ts';
import { launchApp, type ExitStatus, type InstanceRecord, type LaunchedApp } from './launch.ts';
import { terminateGroup, waitFor, liveGroupMembers } from './process-group.ts';
import { RestartPolicy, type BackoffSettings, type CrashLoopSettings, type RestartDecision } from './restart-policy.ts';
import { appLogBudget } from './output.ts';

export interface AppRunnerOptions {
  logger: Logger;
  clock?: Clock;
  /** Time between SIGTERM and SIGKILL. */
  stopTimeoutMs: number;
  backoff: BackoffSettings;
  crashLoop: CrashLoopSettings;
  /** How instances are contained (default: their process group only). */
  containment?: Containment;
  /** Keeps each instance's record for a later supervisor of the same boot (orphan.ts). */
  record?: (r: InstanceRecord) => void;
}

/** The runner, plus what status says about its containment. */
export interface ContainedAppRunner extends AppRunner {
  containment(): ContainmentReport;
}

// One start(spec) .. stop() period. Aborting `abort` cancels a pending restart.
interface Session {
  spec: AppSpec;
  abort: AbortController;
  policy: RestartPolicy;
  restarts: number;
  current: LaunchedApp | null;
  /** The restart sequence in progress, if any. */
  pending: Promise<void> | null;
}

/** An AppRunner for real processes (node:child_process, contained instances, PM2-style restart backoff). */
export function createAppRunner(options: AppRunnerOptions): ContainedAppRunner {
  const { logger, stopTimeoutMs } = options;
  const clock = options.clock ?? systemClock;
  const containment = options.containment ?? Containment.processGroup(logger);
  const record = options.record ?? ((): void => undefined);
  const listeners = new Set<(event: AppRunnerEvent) => void>();
  let session: Session | null = null;
  const logBudget = appLogBudget(clock);

  function emit(event: AppRunnerEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        logger.error({ event: 'runner-listener-failed', err: messageOf(err) }, 'runner listener threw');
      }
    }
  }

  async function launch(s: Session): Promise<void> {
    const app = await launchApp(s.spec, { logger, clock, containment, record, logBudget });
    s.current = app;
    logger.info({ event: 'app-started', app: s.spec.name, version: s.spec.version, pid: app.pid }, 'app started');
    emit({ type: 'started', pid: app.pid, at: app.startedAt });
    void app.exited.then((status) => onExit(s, app, status));
  }

  function onExit(s: Session, app: LaunchedApp, status: ExitStatus): void {
    const uptimeMs = clock.monotonic() - app.startedMono;
    const stopping = s.abort.signal.aborted; // stop() owns what happens next
    // Decided before 'exited' is emitted, so listeners see status().crashLoop for this exit.
    const decision = stopping ? null : s.policy.next(clock.monotonic(), uptimeMs);
    logger.warn({ event: 'app-exited', app: s.spec.name, version: s.spec.version, pid: app.pid, ...status, uptimeMs: Math.round(uptimeMs) }, 'app exited');
    emit({ type: 'exited', pid: app.pid, code: status.code, signal: status.signal, uptimeMs, at: clock.now() });
    if (decision === null) return;
    s.current = null;
    s.pending = restartAfter(s, app, decision).catch((err: unknown) => {
      if (!s.abort.signal.aborted) logger.error({ event: 'app-restart-failed', err: messageOf(err) }, 'restart sequence failed');
    });
  }

  // Ends every process of an instance (SIGTERM, SIGKILL after the stop timeout) and removes its
  // box; `leaderGone` tells when the app's own process has been reaped.
  async function endInstance(s: Session, app: LaunchedApp, leaderGone: () => boolean): Promise<boolean> {
    const { rest } = app.box;
    if (leaderGone() && liveGroupMembers(app.pid).length === 0 && rest.empty()) {
      app.box.dispose();
      return false;
    }
    const outcome = await terminateGroup(clock, app.pid, leaderGone, stopTimeoutMs, rest);
    const labels = { app: s.spec.name, version: s.spec.version, pid: app.pid, containment: app.box.record };
    if (!outcome.contained) logger.error({ event: 'app-not-contained', ...labels }, 'processes of the app outlived SIGKILL');
    else if (!app.box.dispose()) logger.warn({ event: 'app-box-not-removed', ...labels }, 'the instance\'s cgroup could not be removed');
    return outcome.forced;
  }

  // Removes what the exited app left (a port held by a grandchild or an escaped process would
  // break the next instance), waits the backoff delay, starts again; a failed spawn counts as a crash.
  async function restartAfter(s: Session, exited: LaunchedApp, first: RestartDecision): Promise<void> {
    let decision = first;
    await endInstance(s, exited, () => true);
    for (;;) {
      s.restarts += 1;
      if (decision.enteredCrashLoop) {
        const { restarts, windowMs } = options.crashLoop;
        logger.error({ event: 'app-crash-loop', app: s.spec.name, version: s.spec.version, restarts, windowMs }, 'app is in a crash loop');
        emit({ type: 'crash-loop', restarts, windowMs, at: clock.now() });
      }
      emit({ type: 'restart-scheduled', delayMs: decision.delayMs, restarts: s.restarts, at: clock.now() });
      await clock.sleep(decision.delayMs, s.abort.signal);
      try {
        await launch(s);
        return;
      } catch (err) {
        logger.error({ event: 'app-spawn-failed', app: s.spec.name, err: messageOf(err) }, 'app could not be started');
        decision = s.policy.next(clock.monotonic(), 0);
      }
    }
  }

  async function stopSession(s: Session): Promise<void> {
    s.abort.abort();
    await s.pending; // a launch in flight finishes, so its process is stopped below too
    const app = s.current;
    if (app === null) return;
    const forced = await endInstance(s, app, () => app.hasExited());
    await waitFor(clock, () => app.hasExited(), stopTimeoutMs);
    s.current = null;
    logger.info({ event: 'app-stopped', app: s.spec.name, version: s.spec.version, pid: app.pid, forced }, 'app stopped');
  }

  return {
    async start(spec) {
      if (session !== null) await stopSession(session);
      const s: Session = { spec, abort: new AbortController(), policy: new RestartPolicy(options.backoff, options.crashLoop), restarts: 0, current: null, pending: null };
      session = s;
      await launch(s);
    },
    async stop() {
      const s = session;
      session = null;
      if (s !== null) await stopSession(s);
    },
    status(): AppStatus {
      const app = session?.current ?? null;
      return {
        pid: app?.pid ?? null,
        startedAt: app?.startedAt ?? null,
        restarts: session?.restarts ?? 0,
        crashLoop: session?.policy.inCrashLoop ?? false,
      };
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    containment: () => containment.report(session?.current?.box ?? null),
  };
}
