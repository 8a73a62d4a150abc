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
//   ever credited to the next one.
// - At most MAX_KEPT messages are kept; READY=1 and WATCHDOG=trigger are the last to be dropped.

import type { Clock } from '../../common/clock.ts';
import type { NotifyMessage } from './notify-socket.ts';

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
  /** Unbinds the socket and removes its file. */
  close(): void;
}

// The socket needs koffi (~10 MiB resident): loaded only once an app uses the notify check.
let socketModule: Promise<typeof import('./notify-socket.ts')> | null = null;

/** Binds the notify socket at `path`; rejects with HEALTH_NOTIFY_SOCKET_FAILED when it cannot. */
export async function openNotifyChannel(path: string, clock: Clock): Promise<NotifyChannel> {
  socketModule ??= import('./notify-socket.ts');
  const { listenNotify } = await socketModule;
  const closing = new AbortController();
  const kept: NotifyEntry[] = [];
  const subscribers = new Set<(entry: NotifyEntry) => void>();
  const drain = listenNotify(path, clock, closing.signal, (message) => {
    const entry = { message, at: clock.monotonic() };
    keep(kept, entry);
    for (const onEntry of [...subscribers]) onEntry(entry);
  });
  return {
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
