// The receiving end of systemd's notify protocol: an AF_UNIX SOCK_DGRAM socket at a path, each
// datagram a set of `KEY=VALUE` lines (READY=1, WATCHDOG=1, STATUS=...). Node has no AF_UNIX
// datagram sockets, so this binds libc through koffi and drains the socket non-blockingly
// from the event loop; an app uses sd_notify(3) unchanged with NOTIFY_SOCKET set to the path.
//
// Every datagram is read with recvmsg(2) and the sender's credentials (SO_PASSCRED: the kernel
// attaches the pid, uid and gid it knows, and refuses forged ones from the unprivileged), so the
// caller can tell who sent it. The control buffer has room for the credentials only: descriptors
// a sender attaches (SCM_RIGHTS) are never installed in the supervisor, the kernel drops them.

import { rmSync } from 'node:fs';
import { endianness } from 'node:os';
import koffi from 'koffi';
import type { Clock } from '../../common/clock.ts';
import { CodedError } from '../../common/errors.ts';
import { credentialsReader, type CredentialsReader, type Sender } from './notify-recv.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800; // asm-generic and x86-64
const SOCK_CLOEXEC = 0x80000; // so the app never inherits the receiving end
const SOL_SOCKET = 1;
const SO_PASSCRED = 16;
const SOCKADDR_UN_SIZE = 110; // sa_family_t + char sun_path[108]
const POLL_MS = 50;
// Datagrams read per drain: a flood of them never holds the event loop (and the watchdog's pets).
const MAX_PER_DRAIN = 256;
// What is kept of a message: the keys the health check reads, STATUS= cut to this many characters.
const KEPT_KEYS = ['READY', 'WATCHDOG', 'STATUS'];
const MAX_STATUS = 256;

export type { Sender } from './notify-recv.ts';

export type NotifyMessage = ReadonlyMap<string, string>;

export type Received =
  | { kind: 'message'; sender: Sender; message: NotifyMessage }
  | { kind: 'dropped'; sender: Sender | null; reason: 'no credentials' | 'too long' | 'malformed' };

interface SocketLibc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  close(fd: number): number;
  reader(fd: number): CredentialsReader;
}

let cached: SocketLibc | undefined;

function socketLibc(): SocketLibc {
  if (cached !== undefined) return cached;
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)');
  const bind = lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)');
  const close = lib.func('int close(int fd)');
  const reader = credentialsReader(lib);
  cached = {
    socket: (d, t, p) => socket(d, t, p) as number,
    setsockopt: (fd, level, name, value, len) => setsockopt(fd, level, name, value, len) as number,
    bind: (fd, addr, len) => bind(fd, addr, len) as number,
    close: (fd) => close(fd) as number,
    reader,
  };
  return cached;
}

/**
 * Binds `path` (replacing a stale socket file) with SO_PASSCRED and calls `onReceive` per
 * datagram until `signal` aborts; returns a function that reads what is queued at once
 * (synchronously, at most MAX_PER_DRAIN datagrams). The caller sets the file's owner and mode.
 */
export function listenNotify(path: string, clock: Clock, signal: AbortSignal, onReceive: (received: Received) => void): () => void {
  if (signal.aborted) return () => undefined;
  const c = socketLibc();
  const address = sockaddrUn(path);
  rmSync(path, { force: true });
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const on = Buffer.alloc(4); // int 1, in the host's byte order
  if (endianness() === 'LE') on.writeInt32LE(1);
  else on.writeInt32BE(1);
  if (fd < 0 || c.setsockopt(fd, SOL_SOCKET, SO_PASSCRED, on, 4) < 0 || c.bind(fd, address, address.length) < 0) {
    const errno = koffi.errno();
    if (fd >= 0) c.close(fd);
    throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `cannot bind notify socket ${path}: errno ${errno}`);
  }
  const reader = c.reader(fd);
  let open = true;
  // Closed synchronously on abort, so a monitor restarted at once can bind the same path again.
  const closeNow = (): void => {
    open = false;
    c.close(fd);
    reader.free();
    rmSync(path, { force: true });
  };
  signal.addEventListener('abort', closeNow, { once: true });
  const drain = (): void => {
    for (let n = 0; n < MAX_PER_DRAIN && open; n += 1) {
      const datagram = reader.next();
      if (datagram === null) return;
      onReceive(judge(datagram.bytes, datagram.truncated, datagram.sender));
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

function judge(bytes: Buffer, truncated: boolean, sender: Sender | null): Received {
  if (sender === null) return { kind: 'dropped', sender, reason: 'no credentials' };
  if (truncated) return { kind: 'dropped', sender, reason: 'too long' };
  if (bytes.includes(0)) return { kind: 'dropped', sender, reason: 'malformed' };
  return { kind: 'message', sender, message: parseNotify(bytes.toString('utf8')) };
}

/** `KEY=VALUE` lines → the keys the health check reads; lines without '=' are ignored, as systemd does. */
export function parseNotify(text: string): NotifyMessage {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    if (KEPT_KEYS.includes(key)) fields.set(key, line.slice(eq + 1, eq + 1 + MAX_STATUS));
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
