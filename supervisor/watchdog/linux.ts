// The Linux watchdog device (/dev/watchdog, /dev/watchdogN) driven through libc via koffi.

import { CodedError } from '../../common/errors.ts';
import type { Watchdog, WatchdogInfo } from '../ports.ts';
import {
  SIZEOF_WATCHDOG_INFO,
  WDIOC_GETBOOTSTATUS,
  WDIOC_GETSUPPORT,
  WDIOC_GETTIMEOUT,
  WDIOC_SETTIMEOUT,
  WDIOF_SETTIMEOUT,
} from './ioctl.ts';
import { errnoName, libc, O_WRONLY_CLOEXEC, type Libc } from './libc.ts';

export type WatchdogErrorCode = 'WATCHDOG_UNAVAILABLE' | 'WATCHDOG_BUSY' | 'WATCHDOG_IOCTL_FAILED' | 'WATCHDOG_NOT_OPEN' | 'WATCHDOG_PET_FAILED';

// A keep-alive byte. Anything but 'V': the kernel re-evaluates "magic close allowed" on every
// write, so a ping containing 'V' would let an unexpected close disarm the device.
const KEEPALIVE = Buffer.from([0]);
const MAGIC = Buffer.from('V');

// INVARIANTS
// - The fd is opened O_CLOEXEC, so apps started later never hold the device.
// - 'V' is written only by closeMagic() and on a failed open (the device is armed by open(),
//   and a supervisor that cannot configure it runs without it, so it must not stay armed).
// - pet() is synchronous (no thread pool): a blocked event loop stops the pets.
/** A Watchdog over the Linux device at `devicePath`. */
export function createLinuxWatchdog(devicePath: string): Watchdog {
  let fd: number | null = null;

  return {
    open(timeoutSeconds) {
      if (fd !== null) return Promise.reject(new CodedError('WATCHDOG_BUSY', `${devicePath} is already open`));
      try {
        const c = libc();
        fd = openDevice(c, devicePath);
        return Promise.resolve(configure(c, fd, devicePath, timeoutSeconds));
      } catch (err) {
        if (fd !== null) closeWith(fd, MAGIC);
        fd = null;
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    pet() {
      if (fd === null) throw new CodedError('WATCHDOG_NOT_OPEN', `${devicePath} is not open`);
      const c = libc();
      if (c.write(fd, KEEPALIVE) !== 1) {
        throw new CodedError('WATCHDOG_PET_FAILED', `keep-alive write to ${devicePath} failed: ${errnoName(c.errno())}`);
      }
    },
    closeMagic() {
      if (fd !== null) closeWith(fd, MAGIC);
      fd = null;
    },
    closeArmed() {
      if (fd !== null) closeWith(fd, null);
      fd = null;
    },
  };
}

function openDevice(c: Libc, devicePath: string): number {
  const fd = c.open(devicePath, O_WRONLY_CLOEXEC);
  if (fd >= 0) return fd;
  const name = errnoName(c.errno());
  const code = name === 'EBUSY' ? 'WATCHDOG_BUSY' : 'WATCHDOG_UNAVAILABLE';
  throw new CodedError(code, `cannot open ${devicePath}: ${name}`, { errno: name });
}

// Reads the identity and boot status, then sets the timeout when the driver allows it and
// reads back the value in force (drivers round to what the hardware can do).
function configure(c: Libc, fd: number, devicePath: string, timeoutSeconds: number): WatchdogInfo {
  const support = Buffer.alloc(SIZEOF_WATCHDOG_INFO);
  ioctlOrThrow(c, c.ioctlBuffer(fd, WDIOC_GETSUPPORT, support), 'WDIOC_GETSUPPORT', devicePath);
  const options = support.readUInt32LE(0);
  const identity = support.subarray(8, 40).toString('latin1').replace(/\0.*$/s, '');

  const bootStatus = new Int32Array(1);
  ioctlOrThrow(c, c.ioctlInt(fd, WDIOC_GETBOOTSTATUS, bootStatus), 'WDIOC_GETBOOTSTATUS', devicePath);

  const timeout = new Int32Array([timeoutSeconds]);
  if ((options & WDIOF_SETTIMEOUT) !== 0) {
    ioctlOrThrow(c, c.ioctlInt(fd, WDIOC_SETTIMEOUT, timeout), 'WDIOC_SETTIMEOUT', devicePath);
  }
  ioctlOrThrow(c, c.ioctlInt(fd, WDIOC_GETTIMEOUT, timeout), 'WDIOC_GETTIMEOUT', devicePath);
  return { identity, options, bootStatus: bootStatus[0] ?? 0, timeoutSeconds: timeout[0] ?? timeoutSeconds };
}

function ioctlOrThrow(c: Libc, result: number, request: string, devicePath: string): void {
  if (result >= 0) return;
  const name = errnoName(c.errno());
  throw new CodedError('WATCHDOG_IOCTL_FAILED', `${request} on ${devicePath} failed: ${name}`, { request, errno: name });
}

function closeWith(fd: number, last: Buffer | null): void {
  const c = libc();
  if (last !== null) c.write(fd, last);
  c.close(fd);
}
