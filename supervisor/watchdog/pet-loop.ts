// Pets the watchdog from the supervisor's own event loop, and only while that loop is live.

import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { Clock } from '../../common/clock.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { Watchdog } from '../ports.ts';

export interface PetLoopOptions {
  watchdog: Watchdog;
  clock: Clock;
  /** The timeout in force on the device; pets come every third of it. */
  timeoutSeconds: number;
  /** Event-loop lag above which a pet is skipped. */
  maxLagMs: number;
  logger: Logger;
}

export interface PetLoopStats {
  pets: number;
  skipped: number;
  failures: number;
  /** The largest lag seen at the last tick, in ms. */
  lastLagMs: number;
}

export interface PetLoop {
  start(): void;
  stop(): void;
  stats(): PetLoopStats;
}

// INVARIANTS
// - The pet runs synchronously inside a main-thread tick, never from a worker, a child or a
//   timer the loop does not own: if the loop is stuck, the device must reset the machine.
// - A tick whose own lateness or the loop-delay histogram since the last tick exceeds maxLagMs
//   does not pet: a loop that has just been stuck is not yet trusted.
// - stop() ends the loop, its timer and the histogram; it never closes the device (the caller
//   decides between closeMagic and closeArmed).
/** A loop that pets `watchdog` every timeout/3 while the event loop lags less than maxLagMs. */
export function createPetLoop(options: PetLoopOptions): PetLoop {
  const { watchdog, clock, logger, maxLagMs } = options;
  const intervalMs = (options.timeoutSeconds * 1000) / 3;
  const stats: PetLoopStats = { pets: 0, skipped: 0, failures: 0, lastLagMs: 0 };
  let abort: AbortController | null = null;
  let histogram: ELDHistogram | null = null;

  function tick(lateMs: number, delays: ELDHistogram): void {
    const lagMs = Math.max(lateMs, delays.max / 1e6);
    delays.reset();
    stats.lastLagMs = lagMs;
    if (lagMs > maxLagMs) {
      stats.skipped += 1;
      logger.warn({ event: 'watchdog-pet-skipped', lagMs: Math.round(lagMs), maxLagMs }, 'event loop lagging; not petting');
      return;
    }
    try {
      watchdog.pet();
      stats.pets += 1;
    } catch (err) {
      stats.failures += 1;
      logger.error({ event: 'watchdog-pet-failed', err: messageOf(err) }, 'watchdog pet failed');
    }
  }

  async function run(signal: AbortSignal, delays: ELDHistogram): Promise<void> {
    while (!signal.aborted) {
      const due = clock.monotonic() + intervalMs;
      await clock.sleep(intervalMs, signal);
      tick(clock.monotonic() - due, delays);
    }
  }

  return {
    start() {
      if (abort !== null) return;
      const controller = new AbortController();
      const delays = monitorEventLoopDelay({ resolution: 10 });
      delays.enable();
      abort = controller;
      histogram = delays;
      logger.info({ event: 'watchdog-pet-loop-started', intervalMs: Math.round(intervalMs), maxLagMs }, 'petting the watchdog');
      run(controller.signal, delays).catch((err: unknown) => {
        if (!controller.signal.aborted) logger.error({ event: 'watchdog-pet-loop-failed', err: messageOf(err) }, 'pet loop ended');
      });
    },
    stop() {
      abort?.abort();
      histogram?.disable();
      abort = null;
      histogram = null;
    },
    stats: () => ({ ...stats }),
  };
}
