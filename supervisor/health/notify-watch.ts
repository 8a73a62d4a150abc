// The notify health check: READY=1 makes the probe pass; after it, when watchdogSec is set,
// WATCHDOG=1 must arrive at least that often; WATCHDOG=trigger is an immediate failure.

import type { Clock } from '../../common/clock.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ProbeSink } from './monitor.ts';
import type { NotifyMessage } from './notify-socket.ts';

// The notify socket needs koffi (~10 MiB resident): loaded only once an app uses the check.
let socketModule: Promise<typeof import('./notify-socket.ts')> | null = null;

/** Loads the notify socket support; awaited before such an app starts, so binding is immediate. */
export function preloadNotify(): Promise<unknown> {
  socketModule ??= import('./notify-socket.ts');
  return socketModule;
}

export interface NotifyWatchOptions {
  path: string | undefined;
  watchdogSec: number | undefined;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  sink: ProbeSink;
}

/** Listens on the notify socket for one monitoring period (until `signal` aborts). */
export function startNotifyWatch(options: NotifyWatchOptions): void {
  const { path, clock, logger, signal, sink } = options;
  if (path === undefined) {
    sink.fail('HEALTH_NOTIFY_TIMEOUT', 'the app uses the notify health check but the supervisor has no notify socket');
    return;
  }
  let ready = false;
  let lastBeat = clock.monotonic();
  const onMessage = (message: NotifyMessage): void => {
    const status = message.get('STATUS');
    if (status !== undefined) logger.info({ event: 'app-status', status }, 'app status');
    if (message.get('WATCHDOG') === 'trigger') sink.fail('HEALTH_NOTIFY_TIMEOUT', 'the app triggered its watchdog (WATCHDOG=trigger)');
    if (message.get('READY') === '1') ready = true;
    if (message.get('READY') === '1' || message.get('WATCHDOG') === '1') {
      lastBeat = clock.monotonic();
      if (ready) sink.result('notify', { ok: true });
    }
  };
  socketModule ??= import('./notify-socket.ts');
  socketModule.then(({ listenNotify }) => {
    if (!signal.aborted) listenNotify(path, clock, signal, onMessage);
  }).catch((err: unknown) => sink.fail('HEALTH_NOTIFY_TIMEOUT', messageOf(err)));
  const watchdogSec = options.watchdogSec;
  if (watchdogSec === undefined || watchdogSec <= 0) return;
  const limitMs = watchdogSec * 1000;
  const checkMs = Math.min(1000, Math.max(50, limitMs / 4));
  const check = async (): Promise<void> => {
    for (;;) {
      await clock.sleep(checkMs, signal);
      const silentMs = clock.monotonic() - lastBeat;
      if (ready && silentMs > limitMs) {
        sink.fail('HEALTH_NOTIFY_TIMEOUT', `no WATCHDOG=1 for ${Math.round(silentMs)} ms (limit ${limitMs} ms)`);
        return;
      }
    }
  };
  check().catch(() => undefined); // ends when the period is aborted
}
