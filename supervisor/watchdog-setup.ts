// Chooses the watchdog the config names (a device, the recording double, or none), opens it,
// and pets it from the main loop through the pet loop. A device that is absent or cannot be
// opened means running without one, said once in the log.
//
// INVARIANTS
// - Pets come only from createPetLoop's main-loop ticks, which skip while the loop lags.
// - The magic close is written only on a clean stop; crash paths leave the device armed, and a
//   supervisor that fails stops petting and closes the device armed (stopArmed) before it exits.

import { appendFileSync, existsSync } from 'node:fs';
import type { Clock } from '../common/clock.ts';
import { messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { Watchdog, WatchdogInfo } from './ports.ts';
import type { WatchdogSettings } from './config.ts';
import type { WatchdogStatus } from '../ipc/protocol.ts';
import { createPetLoop, type PetLoop } from './watchdog/pet-loop.ts';
import { createRecordingWatchdog } from './watchdog/recording.ts';

export interface WatchdogHandle {
  status(): WatchdogStatus;
  stats(): { pets: number; skipped: number };
  /** Clean stop: ends petting and writes the magic close. */
  stopMagic(): void;
  /** Failed start or fatal error: ends petting and closes without the magic close (still armed). */
  stopArmed(): void;
}

// The recording double keeps its record in memory; for tests across processes each operation is
// also appended to `file` as a JSON line ({op, at}).
function journaled(inner: Watchdog, file: string, clock: Clock): Watchdog {
  const note = (op: string): void => appendFileSync(file, `${JSON.stringify({ op, at: clock.monotonic(), t: clock.now() })}\n`);
  return {
    open: async (seconds) => {
      const info = await inner.open(seconds);
      note('open');
      return info;
    },
    pet: () => {
      inner.pet();
      note('pet');
    },
    closeMagic: () => {
      inner.closeMagic();
      note('magic-close');
    },
    closeArmed: () => {
      inner.closeArmed();
      note('armed-close');
    },
  };
}

async function choose(s: WatchdogSettings, clock: Clock, logger: Logger): Promise<Watchdog | null> {
  if (s.device === 'none') return null;
  if (s.device === 'recording') {
    const double = createRecordingWatchdog(clock, { bootStatus: s.recordBootStatus, identity: 'Recording Watchdog' });
    return s.recordFile ? journaled(double, s.recordFile, clock) : double;
  }
  if (!existsSync(s.device)) {
    logger.warn({ event: 'watchdog-absent', device: s.device }, 'no watchdog device; running without one');
    return null;
  }
  // koffi (~10 MiB resident) is loaded only for a real device.
  const { createLinuxWatchdog } = await import('./watchdog/linux.ts');
  return createLinuxWatchdog(s.device);
}

/** Opens the configured watchdog and starts petting it; never throws for a missing or busy device. */
export async function setupWatchdog(s: WatchdogSettings, clock: Clock, logger: Logger): Promise<WatchdogHandle> {
  let device = await choose(s, clock, logger);
  let info: WatchdogInfo | null = null;
  if (device) {
    try {
      info = await device.open(s.timeoutSeconds);
    } catch (err) {
      logger.error({ event: 'watchdog-open-failed', device: s.device, err: messageOf(err) }, 'cannot open the watchdog; running without one');
      device = null;
    }
  } else if (s.device === 'none') {
    logger.warn({ event: 'watchdog-absent', device: null }, 'no watchdog configured; running without one');
  }
  const rebooted = (info?.bootStatus ?? 0) !== 0;
  if (info) {
    logger.info({ event: 'watchdog-opened', device: s.device, identity: info.identity, timeoutSeconds: info.timeoutSeconds, bootStatus: info.bootStatus }, 'watchdog armed');
    if (rebooted) logger.warn({ event: 'watchdog-reboot', bootStatus: info.bootStatus }, 'the last reboot was caused by the watchdog');
  }
  let state: WatchdogStatus['state'] = device ? 'active' : 'absent';
  let lastPetAt: number | null = null;
  let loop: PetLoop | null = null;
  if (device && info) {
    const petted = device;
    const counting: Watchdog = { ...petted, pet: () => { petted.pet(); lastPetAt = clock.now(); } };
    loop = createPetLoop({ watchdog: counting, clock, timeoutSeconds: info.timeoutSeconds, maxLagMs: s.maxLagMs, logger });
    loop.start();
  }
  return {
    status: () => ({
      state, device: device ? s.device : null, identity: info?.identity ?? null, timeoutSeconds: info?.timeoutSeconds ?? null,
      bootStatus: info?.bootStatus ?? null, rebootedByWatchdog: rebooted, lastPetAt,
    }),
    stats: () => {
      const st = loop?.stats();
      return { pets: st?.pets ?? 0, skipped: st?.skipped ?? 0 };
    },
    stopMagic: () => {
      loop?.stop();
      if (device && state === 'active') {
        device.closeMagic();
        state = 'closed';
        logger.info({ event: 'watchdog-closed', magic: true }, 'watchdog disarmed (magic close)');
      }
    },
    stopArmed: () => {
      loop?.stop();
      if (device && state === 'active') {
        state = 'closed';
        try {
          device.closeArmed();
        } catch (err) {
          logger.error({ event: 'watchdog-close-failed', err: messageOf(err) }, 'cannot close the watchdog');
        }
        logger.warn({ event: 'watchdog-closed', magic: false }, 'watchdog closed armed: the device resets unless a supervisor opens it again');
      }
    },
  };
}
