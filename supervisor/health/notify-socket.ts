// The receiving end of systemd's notify protocol: an AF_UNIX SOCK_DGRAM socket at a path, each
// datagram a set of `KEY=VALUE` lines (READY=1, WATCHDOG=1, STATUS=...). Node has no AF_UNIX
// datagram sockets, so this binds libc through koffi and drains the socket non-blockingly
// from the event loop; an app uses sd_notify(3) unchanged with NOTIFY_SOCKET set to the path.

import { chmodSync, rmSync } from 'node:fs';
import { endianness } from 'node:os';
import koffi from 'koffi';
import type { Clock } from '../../common/clock.ts';
import { CodedError } from '../../common/errors.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800; // asm-generic and x86-64
const SOCK_CLOEXEC = 0x80000; // so the app never inherits the receiving end
const MSG_DONTWAIT = 0x40;
const SOCKADDR_UN_SIZE = 110; // sa_family_t + char sun_path[108]
const MAX_DATAGRAM = 4096;
const POLL_MS = 50;

interface SocketLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
}

let cached: SocketLibc | undefined;

function socketLibc(): SocketLibc {
  if (cached !== undefined) return cached;
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)');
  const recv = lib.func('intptr_t recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
  const close = lib.func('int close(int fd)');
  cached = {
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, addr, len) => bind(fd, addr, len) as number,
    recv: (fd, buf, len, flags) => Number(recv(fd, buf, len, flags)),
    close: (fd) => close(fd) as number,
  };
  return cached;
}

export type NotifyMessage = ReadonlyMap<string, string>;

/**
 * Binds `path` (replacing a stale socket file) and calls `onMessage` per datagram until `signal`
 * aborts; returns a function that reads every queued datagram at once (synchronously).
 */
export function listenNotify(path: string, clock: Clock, signal: AbortSignal, onMessage: (message: NotifyMessage) => void): () => void {
  if (signal.aborted) return () => undefined;
  const c = socketLibc();
  const address = sockaddrUn(path);
  rmSync(path, { force: true });
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || c.bind(fd, address, address.length) < 0) {
    const errno = koffi.errno();
    if (fd >= 0) c.close(fd);
    throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `cannot bind notify socket ${path}: errno ${errno}`);
  }
  // Apps may run as another user; who may send is decided by the permissions of the directory.
  chmodSync(path, 0o666);
  let open = true;
  // Closed synchronously on abort, so a monitor restarted at once can bind the same path again.
  const closeNow = (): void => {
    open = false;
    c.close(fd);
    rmSync(path, { force: true });
  };
  signal.addEventListener('abort', closeNow, { once: true });
  const buffer = Buffer.alloc(MAX_DATAGRAM);
  const drain = (): void => {
    while (open) {
      const n = c.recv(fd, buffer, MAX_DATAGRAM, MSG_DONTWAIT);
      if (n <= 0) return;
      onMessage(parseNotify(buffer.toString('utf8', 0, n)));
    }
  };
  const poll = async (): Promise<void> => {
    while (open) {
      drain();
      await clock.sleep(POLL_MS, signal);
    }
  };
  poll().catch(() => undefined);
  return drain;
}

/** `KEY=VALUE` lines → map; lines without '=' are ignored, as systemd does. */
export function parseNotify(text: string): NotifyMessage {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(path);
  if (bytes.length === 0 || bytes.length >= SOCKADDR_UN_SIZE - 2) {
    throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `notify socket path must be 1..107 bytes: ${path}`);
  }
  const address = Buffer.alloc(2 + bytes.length + 1);
  if (endianness() === 'LE') address.writeUInt16LE(AF_UNIX, 0);
  else address.writeUInt16BE(AF_UNIX, 0);
  bytes.copy(address, 2);
  return address;
}
