// Which processes are the app's, for the notify socket (systemd's NotifyAccess=all): the running
// instance's main process and everything below it. A descendant is found by its PPid chain in
// /proc/<pid>/status reaching the main pid. One whose parent exited (re-parented to init, so the
// chain no longer leads to the app) is still found when the instance has a cgroup of its own and
// /proc/<pid>/cgroup names it or a cgroup below it.
//
// A sender that exited before its datagram is read has no /proc entry and is not the app's
// (unless it was the main process): as with systemd, a helper that sends and exits at once may
// not be heard; long-lived senders and the main process always are.

import { readFileSync } from 'node:fs';

export interface AppTreeSource {
  /** The running instance's main pid; null while none runs. */
  mainPid(): number | null;
  /** The instance's cgroup (v2) as /proc/<pid>/cgroup names it, e.g. `/twinslot.slice/app-3`; null: none. */
  cgroup?: () => string | null;
}

// More ancestors than any real app has; a chain longer than this is not followed.
const MAX_DEPTH = 64;

/** isAppProcess(pid) for the instance `source` describes, read from /proc at each call. */
export function appProcessTree(source: AppTreeSource): (pid: number) => boolean {
  return (pid) => {
    const main = source.mainPid();
    if (main === null || !Number.isSafeInteger(pid) || pid <= 0) return false;
    if (pid === main) return true;
    const cgroup = source.cgroup?.() ?? null;
    if (cgroup !== null && inCgroup(pid, cgroup)) return true;
    return descendsFrom(pid, main);
  };
}

function descendsFrom(pid: number, main: number): boolean {
  let current = pid;
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    const parent = parentOf(current);
    if (parent === null || parent <= 0) return false;
    if (parent === main) return true;
    if (parent === 1) return false;
    current = parent;
  }
  return false;
}

function parentOf(pid: number): number | null {
  const status = readProc(pid, 'status');
  const ppid = status === null ? undefined : /^PPid:\s*(\d+)\s*$/m.exec(status)?.[1];
  return ppid === undefined ? null : Number(ppid);
}

// The unified hierarchy's line is `0::<path>`; the root cgroup ("/") would take in every process.
function inCgroup(pid: number, cgroup: string): boolean {
  const wanted = cgroup.replace(/\/+$/, '');
  if (wanted === '') return false;
  const text = readProc(pid, 'cgroup');
  if (text === null) return false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('0::')) continue;
    const path = line.slice(3);
    if (path === wanted || path.startsWith(`${wanted}/`)) return true;
  }
  return false;
}

function readProc(pid: number, file: 'status' | 'cgroup'): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null; // gone, or never was
  }
}
