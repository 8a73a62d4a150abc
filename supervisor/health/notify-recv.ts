// recvmsg(2) through koffi for the notify socket: one datagram and the SCM_CREDENTIALS the kernel
// attached to it. The msghdr, its iovec, the data and the control buffer live in one block of
// unmanaged memory per socket (their addresses are written into the msghdr), laid out with the
// platform's sizes, so it holds on 32-bit ARM as on x86-64.

import { endianness } from 'node:os';
import koffi, { type LibraryHandle } from 'koffi';

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_CREDENTIALS = 2;
const UCRED_SIZE = 12; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
/** systemd's limit too (NOTIFY_BUFFER_MAX): a longer datagram is cut and reported truncated. */
export const MAX_DATAGRAM = 4096;

/** Who sent a datagram, as the kernel knows it. */
export interface Sender {
  pid: number;
  uid: number;
  gid: number;
}

export interface Datagram {
  bytes: Buffer;
  /** Longer than MAX_DATAGRAM: what is in `bytes` is only its beginning. */
  truncated: boolean;
  /** null when the datagram came without credentials. */
  sender: Sender | null;
}

export interface CredentialsReader {
  /** The next queued datagram (its bytes valid until the next call), or null when none is queued. */
  next(): Datagram | null;
  /** Releases the memory; next() must not be called afterwards. */
  free(): void;
}

/** A reader factory over `lib`'s recvmsg. */
export function credentialsReader(lib: LibraryHandle): (fd: number) => CredentialsReader {
  const recvmsg = lib.func('intptr_t recvmsg(int fd, void *msg, int flags)');
  const iovec = koffi.struct({ iov_base: 'void *', iov_len: 'size_t' });
  const msghdr = koffi.struct({
    msg_name: 'void *', msg_namelen: 'uint32_t', msg_iov: 'void *', msg_iovlen: 'size_t',
    msg_control: 'void *', msg_controllen: 'size_t', msg_flags: 'int',
  });
  const cmsghdr = koffi.struct({ cmsg_len: 'size_t', cmsg_level: 'int', cmsg_type: 'int' });
  const word = koffi.sizeof('size_t');
  const align = (n: number): number => Math.ceil(n / word) * word; // CMSG_ALIGN
  const header = align(koffi.sizeof(cmsghdr));
  const control = header + align(UCRED_SIZE); // CMSG_SPACE(sizeof(struct ucred)): no room for fds
  const iovAt = MAX_DATAGRAM;
  const controlAt = align(iovAt + koffi.sizeof(iovec));
  const msgAt = align(controlAt + control);
  const size = msgAt + koffi.sizeof(msghdr);

  return (fd) => {
    const block: unknown = koffi.alloc('uint8_t', size);
    const base = koffi.address(block);
    const memory = Buffer.from(koffi.view(block, size));
    koffi.encode(block, iovAt, iovec, { iov_base: base, iov_len: MAX_DATAGRAM });
    return {
      next() {
        koffi.encode(block, msgAt, msghdr, {
          msg_name: null, msg_namelen: 0, msg_iov: base + BigInt(iovAt), msg_iovlen: 1,
          msg_control: base + BigInt(controlAt), msg_controllen: control, msg_flags: 0,
        });
        const n = Number(recvmsg(fd, base + BigInt(msgAt), MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
        if (n < 0) return null; // EAGAIN: nothing queued (any other error: try again at the next poll)
        const msg = koffi.decode(block, msgAt, msghdr) as { msg_controllen: number | bigint; msg_flags: number };
        const sender = credentials(memory.subarray(controlAt, controlAt + Number(msg.msg_controllen)));
        return { bytes: memory.subarray(0, Math.min(n, MAX_DATAGRAM)), truncated: (msg.msg_flags & MSG_TRUNC) !== 0, sender };
      },
      free: () => koffi.free(block),
    };
  };

  // The SCM_CREDENTIALS message among the control messages, if any.
  function credentials(area: Buffer): Sender | null {
    let at = 0;
    while (at + header <= area.length) {
      const length = word === 8 ? Number(readWord64(area, at)) : readInt(area, at);
      if (length < header || at + length > area.length) return null;
      const level = readInt(area, at + word);
      const type = readInt(area, at + word + 4);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && length >= header + UCRED_SIZE) {
        const data = at + header;
        return { pid: readInt(area, data), uid: readInt(area, data + 4) >>> 0, gid: readInt(area, data + 8) >>> 0 };
      }
      at += align(length);
    }
    return null;
  }
}

const LE = endianness() === 'LE';

function readInt(b: Buffer, at: number): number {
  return LE ? b.readInt32LE(at) : b.readInt32BE(at);
}

function readWord64(b: Buffer, at: number): bigint {
  return LE ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
}
