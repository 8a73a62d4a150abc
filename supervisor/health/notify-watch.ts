// The notify health check: READY=1 makes the probe pass; after it, when watchdogSec is set,
// WATCHDOG=1 must arrive at least that often; WATCHDOG=trigger is an immediate failure. It reads
// the monitor's NotifyChannel, which already holds what the instance sent before this period began.

import type { Clock } from '../../common/clock.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ProbeSink } from './monitor.ts';
import type { NotifyChannel, NotifyEntry } from './notify-channel.ts';

export interface NotifyWatchOptions {
  /** The bound (or binding) notify socket; null when the supervisor has none. */
  channel: Promise<NotifyChannel> | null;
  watchdogSec: number | undefined;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  sink: ProbeSink;
}

/** Checks the app's notify messages for one monitoring period (until `signal` aborts). */
export function startNotifyWatch(options: NotifyWatchOptions): void {
  const { channel, clock, logger, signal, sink } = options;
  if (channel === null) {
    sink.fail('HEALTH_NOTIFY_TIMEOUT', 'the app uses the notify health check but the supervisor has no notify socket');
    return;
  }
  let ready = false;
  let lastBeat = clock.monotonic();
  const onEntry = ({ message, at }: NotifyEntry): void => {
    const status = message.get('STATUS');
    if (status !== undefined) logger.info({ event: 'app-status', status }, 'app status');
    if (message.get('WATCHDOG') === 'trigger') sink.fail('HEALTH_NOTIFY_TIMEOUT', 'the app triggered its watchdog (WATCHDOG=trigger)');
    if (message.get('READY') === '1') ready = true;
    if (message.get('READY') === '1' || message.get('WATCHDOG') === '1') {
      // A replayed message counts from when it arrived, not from when this period began.
      lastBeat = at;
      if (ready) sink.result('notify', { ok: true });
    }
  };
  channel.then((c) => c.subscribe(signal, onEntry)).catch((err: unknown) => sink.fail('HEALTH_NOTIFY_TIMEOUT', messageOf(err)));
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
