// The few libc calls the watchdog device needs, through koffi (no native build on the device).

import koffi, { type LibraryHandle } from 'koffi';

// O_WRONLY | O_CLOEXEC (asm-generic and x86-64 values). CLOEXEC matters: an app that inherited
// the fd would keep the single-open device busy after a supervisor crash, so the restarted
// supervisor could not reopen it and the device would reset the machine.
export const O_WRONLY_CLOEXEC = 0x1 | 0x80000;

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  write(fd: number, data: Buffer): number;
  ioctlInt(fd: number, request: number, value: Int32Array): number;
  ioctlBuffer(fd: number, request: number, buffer: Buffer): number;
  errno(): number;
}

let cached: Libc | undefined;

/** Binds libc once per process (glibc soname first, musl's second). */
export function libc(): Libc {
  cached ??= bind();
  return cached;
}

function bind(): Libc {
  const lib = loadLibc();
  const open = lib.func('int open(const char *path, int flags, ...)');
  const close = lib.func('int close(int fd)');
  const write = lib.func('intptr_t write(int fd, const uint8_t *buf, size_t count)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  return {
    open: (path, flags) => open(path, flags) as number,
    close: (fd) => close(fd) as number,
    write: (fd, data) => Number(write(fd, data, data.length)),
    ioctlInt: (fd, request, value) => ioctl(fd, request, 'int *', value) as number,
    ioctlBuffer: (fd, request, buffer) => ioctl(fd, request, 'uint8_t *', buffer) as number,
    errno: () => koffi.errno(),
  };
}

function loadLibc(): LibraryHandle {
  try {
    return koffi.load('libc.so.6');
  } catch {
    return koffi.load('libc.so');
  }
}

/** The symbolic name of an errno value (ENOENT, EBUSY, ...), for error codes and logs. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(koffi.os.errno)) {
    if (value === errno) return name;
  }
  return `errno ${errno}`;
}
