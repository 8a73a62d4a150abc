// The notify socket for the life of the health monitor, not of one monitoring period: bound
// before the app is spawned and kept across its restarts, so a READY=1 an app sends once, right
// at start, is never lost to a monitoring period that begins later (a loaded machine may run the
// app well before the supervisor reacts to its start). What arrives is kept for the app instance
// that sent it and replayed to every monitoring period of that instance.
//
// INVARIANTS
// - Bound before the first instance reporting to it is spawned (HealthMonitor.prepare) and
//   released only by close(): between two instances there is no moment without a receiver.
// - forget() first reads every queued datagram, then drops everything kept. A datagram sent by an
//   instance is queued before its exit can be observed, so nothing an exited instance sent is
//   ever credited to the next one. (A drain reads up to 256; the kernel queues far fewer, see
//   net.unix.max_dgram_qlen, and a leftover would come from a pid that is no longer the app's.)
// - At most MAX_KEPT messages are kept (each only its READY/WATCHDOG/STATUS, see parseNotify);
//   READY=1 and WATCHDOG=trigger are the last to be dropped.
// - Only what a process of the app sent is heard (access.isAppProcess on the kernel's
//   credentials); the rest is dropped, counted and logged at most once a second, never kept.
// - The socket's directory is root:<the app's gid> 0750 before the socket is bound in it
//   (notify-dir.ts); admit() of an app with another gid re-owns the directory and the socket.

import { dirname } from 'node:path';
import type { Clock } from '../../common/clock.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { NotifyAccess } from '../ports.ts';
import { prepareSocketDir, setSocketMode } from './notify-dir.ts';
import { RefusalLog } from './notify-refusals.ts';
import type { NotifyMessage, Received } from './notify-socket.ts';

const MAX_KEPT = 256;

export interface NotifyEntry {
  message: NotifyMessage;
  /** clock.monotonic() when the datagram was read. */
  at: number;
}

/** The receiving end of the notify protocol for the current app instance. */
export interface NotifyChannel {
  /** Replays what the current instance sent so far, then passes each new message, until `signal` aborts. */
  subscribe(signal: AbortSignal, onEntry: (entry: NotifyEntry) => void): void;
  /** The instance that sent what is kept is gone (or the next is not spawned yet): reads the queue, then forgets it. */
  forget(): void;
  /** The app about to start: who may speak from now on, and the group its socket gets. */
  admit(access: NotifyAccess): void;
  /** Unbinds the socket and removes its file. */
  close(): void;
}

export interface NotifyChannelOptions {
  clock: Clock;
  logger: Logger;
  access: NotifyAccess;
}

// The socket needs koffi (~10 MiB resident): loaded only once an app uses the notify check.
let socketModule: Promise<typeof import('./notify-socket.ts')> | null = null;

/** Binds the notify socket at `path`; rejects with HEALTH_NOTIFY_SOCKET_FAILED when it cannot. */
export async function openNotifyChannel(path: string, options: NotifyChannelOptions): Promise<NotifyChannel> {
  const { clock, logger } = options;
  socketModule ??= import('./notify-socket.ts');
  const { listenNotify } = await socketModule;
  let access = options.access;
  // The group the directory and the socket have now.
  let group = access.gid;
  guarded(path, () => prepareSocketDir(dirname(path), group));
  const closing = new AbortController();
  const refusals = new RefusalLog(logger, clock, closing.signal);
  const kept: NotifyEntry[] = [];
  const subscribers = new Set<(entry: NotifyEntry) => void>();
  const drain = listenNotify(path, clock, closing.signal, (received: Received) => {
    if (received.kind === 'dropped') return refusals.add(received.reason, received.sender);
    if (!access.isAppProcess(received.sender.pid)) return refusals.add('not the app', received.sender);
    const entry = { message: received.message, at: clock.monotonic() };
    keep(kept, entry);
    for (const onEntry of [...subscribers]) onEntry(entry);
  });
  try {
    guarded(path, () => setSocketMode(path, group));
  } catch (err) {
    closing.abort();
    throw err;
  }
  return {
    admit(next) {
      access = next;
      const gid = next.gid;
      if (gid === null || gid === group) return;
      guarded(path, () => {
        prepareSocketDir(dirname(path), gid);
        setSocketMode(path, gid);
      });
      group = gid;
    },
    subscribe(signal, onEntry) {
      for (const entry of [...kept]) {
        if (signal.aborted) return;
        onEntry(entry);
      }
      if (signal.aborted || closing.signal.aborted) return;
      subscribers.add(onEntry);
      signal.addEventListener('abort', () => subscribers.delete(onEntry), { once: true });
    },
    forget() {
      drain();
      kept.length = 0;
    },
    close() {
      subscribers.clear();
      kept.length = 0;
      closing.abort();
    },
  };
}

function keep(kept: NotifyEntry[], entry: NotifyEntry): void {
  if (kept.length >= MAX_KEPT) {
    const routine = kept.findIndex((e) => !significant(e.message));
    kept.splice(routine >= 0 ? routine : 0, 1);
  }
  kept.push(entry);
}

function significant(message: NotifyMessage): boolean {
  return message.get('READY') === '1' || message.get('WATCHDOG') === 'trigger';
}

// Filesystem failures setting up the socket's directory and file, as HEALTH_NOTIFY_SOCKET_FAILED.
function guarded(path: string, act: () => void): void {
  try {
    act();
  } catch (err) {
    if (err instanceof CodedError) throw err;
    throw new CodedError('HEALTH_NOTIFY_SOCKET_FAILED', `cannot set up the notify socket ${path}: ${messageOf(err)}`, {}, { cause: err });
  }
}
