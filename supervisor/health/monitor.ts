// Turns probe results and app events into one verdict: starting → healthy → unhealthy.

import { systemClock, type Clock } from '../../common/clock.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { AppRunner, HealthFailureCode, HealthMonitor, HealthVerdict, NotifyAccess, ProbeIdentity } from '../ports.ts';
import { appProcessTree } from './app-tree.ts';
import { openNotifyChannel, type NotifyChannel } from './notify-channel.ts';
import { startNotifyWatch } from './notify-watch.ts';
import { probeCommand, probeHttp, type ProbeOutcome } from './probes.ts';
import { mergeHealthSpec, type EffectiveHealthSpec, type EffectiveTiming } from './spec.ts';

export interface HealthMonitorOptions {
  logger: Logger;
  clock?: Clock;
  runner: AppRunner;
  /** Where the notify socket is bound by prepare() (passed to the app as NOTIFY_SOCKET by the caller). */
  notifySocketPath?: string;
  /** Working directory of command probes (the slot directory). */
  cwd?: string;
}

export type ProbeKind = 'http' | 'command' | 'notify';

/** What one monitoring period (start .. stop or unhealthy) needs from a probe. */
export interface ProbeSink {
  result(kind: ProbeKind, outcome: ProbeOutcome): void;
  fail(code: HealthFailureCode, reason: string): void;
}

// Rules: `starting` until every configured probe's latest result is a success (no probe
// configured: the process running is enough). Failures while starting are not counted; only
// the start timeout ends that phase, and a timeout is always a failure. Once healthy,
// `failureThreshold` consecutive failures of a probe, a missed heartbeat, the app exiting or a
// crash loop make it `unhealthy`, which is final until the next start(). The notify socket
// outlives monitoring periods (see notify-channel.ts): bound by prepare(), released by close();
// only the processes of the app prepare() was given are heard on it.
/** A HealthMonitor over `runner`'s app with HTTP, command, notify and liveness checks. */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { logger, runner } = options;
  const clock = options.clock ?? systemClock;
  const listeners = new Set<(verdict: HealthVerdict) => void>();
  let verdict: HealthVerdict = { state: 'starting' };
  let session: AbortController | null = null;
  let channel: Promise<NotifyChannel> | null = null;
  let bound: NotifyChannel | null = null;
  // Who may speak on the notify socket: what the last prepare() was given.
  const runnerTree: NotifyAccess = { gid: null, isAppProcess: appProcessTree({ mainPid: () => runner.status().pid }) };
  let access = runnerTree;
  // What an exited instance sent never counts for the next one.
  runner.on((event) => {
    if (event.type === 'exited') bound?.forget();
  });

  // Binds once; a failed bind is retried by the next caller, a close() while binding wins.
  function notifyChannel(path: string): Promise<NotifyChannel> {
    if (channel !== null) return channel;
    const opening: Promise<NotifyChannel> = openNotifyChannel(path, { clock, logger, access }).then(
      (c) => {
        if (channel !== opening) {
          c.close();
          throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', 'the health monitor was closed');
        }
        bound = c;
        return c;
      },
      (err: unknown) => {
        if (channel === opening) channel = null;
        throw err;
      },
    );
    channel = opening;
    return opening;
  }

  function closeChannel(): void {
    bound?.close();
    bound = null;
    channel = null;
  }

  function set(next: HealthVerdict): void {
    verdict = next;
    logger.info({ event: 'health-verdict', ...next }, `app is ${next.state}`);
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (err) {
        logger.error({ event: 'health-listener-failed', err: messageOf(err) }, 'health listener threw');
      }
    }
  }

  function begin(spec: EffectiveHealthSpec, startedAt: number, abort: AbortController, identity: ProbeIdentity | undefined): void {
    const latest = new Map<ProbeKind, ProbeOutcome | null>();
    const failures = new Map<ProbeKind, number>();
    const fail = (code: HealthFailureCode, reason: string): void => {
      if (abort.signal.aborted || verdict.state === 'unhealthy') return;
      abort.abort();
      set({ state: 'unhealthy', reason, code });
    };
    const result = (kind: ProbeKind, outcome: ProbeOutcome): void => {
      if (abort.signal.aborted) return;
      latest.set(kind, outcome);
      if (outcome.ok) {
        failures.set(kind, 0);
        if (verdict.state === 'starting' && [...latest.values()].every((o) => o?.ok === true)) set({ state: 'healthy', since: clock.now() });
        return;
      }
      logger.debug({ event: 'health-probe-failed', probe: kind, reason: outcome.reason }, 'probe failed');
      if (verdict.state !== 'healthy') return;
      const count = (failures.get(kind) ?? 0) + 1;
      failures.set(kind, count);
      if (count >= thresholdOf(spec, kind)) fail(CODES[kind], `${count} consecutive ${kind} probe failures: ${outcome.reason}`);
    };
    const sink: ProbeSink = { result, fail };

    watchRunner(runner, abort.signal, sink);
    if (spec.http !== undefined) latest.set('http', null);
    if (spec.command !== undefined) latest.set('command', null);
    if (spec.notify !== undefined) latest.set('notify', null);
    void startTimeout(clock, spec, startedAt, abort.signal, () => verdict.state === 'starting', sink);
    if (runner.status().pid === null) return fail('APP_EXITED', 'the app is not running');
    if (latest.size === 0) return set({ state: 'healthy', since: clock.now() });
    const { http, command } = spec;
    if (http !== undefined) void every(clock, http, abort.signal, (s) => probeHttp(http.url, http.timeoutMs, s), (o) => result('http', o));
    if (command !== undefined) void every(clock, command, abort.signal, (s) => probeCommand(command.argv, options.cwd, command.timeoutMs, s, identity), (o) => result('command', o));
    const path = options.notifySocketPath;
    if (spec.notify !== undefined) startNotifyWatch({ channel: path === undefined ? null : notifyChannel(path), watchdogSec: spec.notify.watchdogSec, clock, logger, signal: abort.signal, sink });
  }

  return {
    async prepare(spec, given) {
      bound?.forget();
      access = given ?? runnerTree;
      const path = options.notifySocketPath;
      if (path === undefined || mergeHealthSpec({}, spec).notify === undefined) return;
      try {
        (await notifyChannel(path)).admit(access);
      } catch (err) {
        // start() tries again and reports the failure as this instance's verdict.
        logger.warn({ event: 'notify-socket-failed', path, err: messageOf(err) }, 'cannot bind the notify socket');
      }
    },
    start(spec, startedAt, identity) {
      session?.abort();
      const abort = new AbortController();
      session = abort;
      const effective = mergeHealthSpec({}, spec);
      if (verdict.state !== 'starting') set({ state: 'starting' });
      begin(effective, startedAt, abort, identity);
    },
    stop() {
      session?.abort();
      session = null;
    },
    close() {
      session?.abort();
      session = null;
      closeChannel();
    },
    verdict: () => verdict,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const CODES: Record<ProbeKind, HealthFailureCode> = { http: 'HEALTH_HTTP_FAILED', command: 'HEALTH_COMMAND_FAILED', notify: 'HEALTH_NOTIFY_TIMEOUT' };

function thresholdOf(spec: EffectiveHealthSpec, kind: ProbeKind): number {
  if (kind === 'http') return spec.http?.failureThreshold ?? 1;
  if (kind === 'command') return spec.command?.failureThreshold ?? 1;
  return 1;
}

function watchRunner(runner: AppRunner, signal: AbortSignal, sink: ProbeSink): void {
  const off = runner.on((event) => {
    // The runner decides the restart before announcing the exit, so status() already tells
    // whether this exit completed a crash loop: report that, the more useful reason.
    if (event.type === 'exited' && runner.status().crashLoop) sink.fail('APP_CRASH_LOOP', `app exited (${describeExit(event)}) in a crash loop`);
    if (event.type === 'exited') sink.fail('APP_EXITED', `app exited (${describeExit(event)})`);
    if (event.type === 'crash-loop') sink.fail('APP_CRASH_LOOP', `${event.restarts} restarts within ${event.windowMs} ms`);
  });
  signal.addEventListener('abort', off, { once: true });
}

function describeExit(event: { code: number | null; signal: string | null }): string {
  return event.signal ?? `code ${event.code}`;
}

async function startTimeout(clock: Clock, spec: EffectiveHealthSpec, startedAt: number, signal: AbortSignal, starting: () => boolean, sink: ProbeSink): Promise<void> {
  const remaining = Math.max(0, startedAt + spec.startTimeoutSeconds * 1000 - clock.now());
  try {
    await clock.sleep(remaining, signal);
  } catch {
    return; // stopped
  }
  if (starting()) sink.fail('HEALTH_START_TIMEOUT', `not healthy within ${spec.startTimeoutSeconds} s of start`);
}

async function every(clock: Clock, timing: EffectiveTiming, signal: AbortSignal, probe: (signal: AbortSignal) => Promise<ProbeOutcome>, report: (outcome: ProbeOutcome) => void): Promise<void> {
  try {
    while (!signal.aborted) {
      const outcome = await probe(signal);
      if (signal.aborted) return;
      report(outcome);
      await clock.sleep(timing.intervalMs, signal);
    }
  } catch {
    // aborted while sleeping: the period is over
  }
}
