// A Watchdog test double: records pets with monotonic timestamps and how the device was closed,
// and behaves like the Linux device where callers can observe it (single open, no pets closed).

import { systemClock, type Clock } from '../../common/clock.ts';
import { CodedError } from '../../common/errors.ts';
import type { Watchdog, WatchdogInfo } from '../ports.ts';
import { WDIOF_KEEPALIVEPING, WDIOF_MAGICCLOSE, WDIOF_SETTIMEOUT } from './ioctl.ts';

export type RecordingWatchdogState = 'never-opened' | 'open' | 'magic-closed' | 'armed-closed';

export interface RecordingWatchdog extends Watchdog {
  /** Monotonic timestamps (clock.monotonic()) of every pet since creation. */
  readonly pets: readonly number[];
  readonly state: RecordingWatchdogState;
  /** True once a clean stop wrote the magic character (and nothing reopened it since). */
  readonly magicClosed: boolean;
  /** The timeout last set by open(), or null before the first open. */
  readonly timeoutSeconds: number | null;
  /** Calls listener after every pet; returns an unsubscribe function. */
  onPet(listener: (at: number) => void): () => void;
}

export interface RecordingWatchdogOptions {
  /** What WDIOC_GETBOOTSTATUS would report (WDIOF_CARDRESET = 0x20 after a watchdog reset). */
  bootStatus?: number;
  identity?: string;
}

/** A recording double for the Watchdog port (tests, and machines without a device). */
export function createRecordingWatchdog(clock: Clock = systemClock, options: RecordingWatchdogOptions = {}): RecordingWatchdog {
  const pets: number[] = [];
  const listeners = new Set<(at: number) => void>();
  let state: RecordingWatchdogState = 'never-opened';
  let timeoutSeconds: number | null = null;

  return {
    pets,
    get state() {
      return state;
    },
    get magicClosed() {
      return state === 'magic-closed';
    },
    get timeoutSeconds() {
      return timeoutSeconds;
    },
    open(seconds) {
      if (state === 'open') return Promise.reject(new CodedError('WATCHDOG_BUSY', 'recording watchdog is already open'));
      state = 'open';
      timeoutSeconds = seconds;
      const info: WatchdogInfo = {
        identity: options.identity ?? 'Recording Watchdog',
        timeoutSeconds: seconds,
        bootStatus: options.bootStatus ?? 0,
        options: WDIOF_SETTIMEOUT | WDIOF_MAGICCLOSE | WDIOF_KEEPALIVEPING,
      };
      return Promise.resolve(info);
    },
    pet() {
      if (state !== 'open') throw new CodedError('WATCHDOG_NOT_OPEN', 'recording watchdog is not open');
      const at = clock.monotonic();
      pets.push(at);
      for (const listener of listeners) listener(at);
    },
    closeMagic() {
      if (state === 'open') state = 'magic-closed';
    },
    closeArmed() {
      if (state === 'open') state = 'armed-closed';
    },
    onPet(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
