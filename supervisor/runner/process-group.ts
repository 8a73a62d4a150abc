// Signals and inspects an app's process group (the app is started detached, so pgid = its pid),
// and stops it together with what its containment adds (a cgroup's or a uid's processes).

import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../common/clock.ts';
import { isErrno } from '../../common/errors.ts';

const POLL_MS = 25;

/** Sends `signal` to every process of the group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}

/**
 * Live (non-zombie) processes whose process group is `pgid`, from /proc. Zombies are left out:
 * they are dead, and reaping an orphan is its new parent's business (init), not the app's.
 */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat !== null && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

function readStat(pid: string): { state: string; pgrp: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return null; // the process ended while we looked
  }
}

/** Resolves true once `done()` holds, false if `timeoutMs` passes first. */
export async function waitFor(clock: Clock, done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = clock.monotonic() + timeoutMs;
  while (!done()) {
    if (clock.monotonic() >= deadline) return false;
    await clock.sleep(POLL_MS);
  }
  return true;
}

export interface GroupExit {
  /** SIGKILL was needed. */
  forced: boolean;
  /** Nothing of the app was left in the end (false: something outlived SIGKILL for KILL_WAIT_MS). */
  contained: boolean;
}

/** Processes beyond the app's process group that a stop must end too: its cgroup's, its uid's. */
export interface Remnant {
  /** Signals its processes except `skip` (the group's, already signalled: a second SIGTERM may mean "now" to an app). */
  signal(signal: 'SIGTERM' | 'SIGKILL', skip: ReadonlySet<number>): void;
  empty(): boolean;
}

/** No processes beyond the group (the process-group containment). */
export const NO_REMNANT: Remnant = { signal: () => undefined, empty: () => true };

const NONE: ReadonlySet<number> = new Set();

// SIGKILL cannot be ignored; this only bounds the wait for the kernel and for libuv to reap.
const KILL_WAIT_MS = 10_000;

/**
 * SIGTERM to the whole group and to `rest`, SIGKILL to what is left after `stopTimeoutMs` —
 * again at every poll, so what forked meanwhile dies too — until the leader has been reaped
 * (`leaderGone`) and no live member of the group or of `rest` remains.
 */
export async function terminateGroup(clock: Clock, pgid: number, leaderGone: () => boolean, stopTimeoutMs: number, rest: Remnant = NO_REMNANT): Promise<GroupExit> {
  const gone = (): boolean => leaderGone() && liveGroupMembers(pgid).length === 0 && rest.empty();
  signalGroup(pgid, 'SIGTERM');
  rest.signal('SIGTERM', new Set(liveGroupMembers(pgid)));
  if (await waitFor(clock, gone, stopTimeoutMs)) return { forced: false, contained: true };
  const deadline = clock.monotonic() + KILL_WAIT_MS;
  for (;;) {
    signalGroup(pgid, 'SIGKILL');
    rest.signal('SIGKILL', NONE);
    if (await waitFor(clock, gone, POLL_MS)) return { forced: true, contained: true };
    if (clock.monotonic() >= deadline) return { forced: true, contained: gone() };
  }
}
