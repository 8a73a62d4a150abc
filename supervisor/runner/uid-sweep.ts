// The fallback where cgroup v2 cannot be used: an app with a uid of its own is stopped by
// signalling every process whose real uid is that uid, pass after pass, until none is left.
// The real uid, because an app cannot change it (a setuid program it execs changes only the
// effective one). Never for uid 0 or an account shared with anyone else (containment.ts decides).

import { readdirSync, readFileSync } from 'node:fs';
import { isErrno } from '../../common/errors.ts';
import type { Remnant } from './process-group.ts';

/** Live (non-zombie) processes whose real uid is `uid`, from /proc; the caller's own pid excluded. */
export function processesOfUid(uid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const status = readStatus(entry);
    if (status !== null && status.uid === uid && status.state !== 'Z' && status.state !== 'X') found.push(Number(entry));
  }
  return found;
}

function readStatus(pid: string): { uid: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(text)?.[1];
    const state = /^State:\s+(\S)/m.exec(text)?.[1];
    return uid === undefined || state === undefined ? null : { uid: Number(uid), state };
  } catch {
    return null; // ended while we looked
  }
}

/** Every process of `uid`, as a Remnant for terminateGroup: each SIGKILL pass catches what forked since the last. */
export function uidRemnant(uid: number): Remnant {
  return {
    signal(sig, skip) {
      for (const pid of processesOfUid(uid)) {
        if (skip.has(pid)) continue;
        try {
          process.kill(pid, sig);
        } catch (err) {
          if (!isErrno(err, 'ESRCH')) throw err;
        }
      }
    },
    empty: () => processesOfUid(uid).length === 0,
  };
}
