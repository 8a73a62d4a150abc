// The spawned app process waits in /bin/sh until the supervisor has put it into its cgroup, and
// only then execs the app.
//
// Why a wait: Node's spawn sets the app's uid and gid before it execs, so the child cannot write
// itself into a root-owned cgroup.procs; the supervisor writes the pid right after the spawn, and
// without the wait the app could fork in between and leave a child outside. (clone3's
// CLONE_INTO_CGROUP does it in one step, but Node cannot pass it; making cgroup.procs the app
// user's would delegate the cgroup to the app.) The wait is a read of fd 3, a socket whose other
// end the supervisor holds: "go" releases it; an EOF (the supervisor died before the move) makes
// it exit HOLD_EXIT_CODE without running the app. fd 3 is closed for the app.

import type { ChildProcess } from 'node:child_process';

export const HOLD_EXIT_CODE = 125;
const SHELL = '/bin/sh';
const SCRIPT = `IFS= read -r go <&3 && [ "$go" = go ] || exit ${HOLD_EXIT_CODE}; exec "$@" 3<&-`;

/** The argv that runs `command args` held, and the stdio it needs (fd 3). */
export function heldCommand(command: string, args: readonly string[]): { command: string; args: string[]; stdio: ['ignore', 'pipe', 'pipe', 'pipe'] } {
  return { command: SHELL, args: ['-c', SCRIPT, 'twinslot-hold', command, ...args], stdio: ['ignore', 'pipe', 'pipe', 'pipe'] };
}

/** Lets a held process exec the app. */
export function releaseHeld(child: ChildProcess): void {
  const hold = child.stdio[3];
  if (!hold || !('end' in hold)) return;
  hold.on('error', () => undefined); // it died before reading: its exit is reported anyway
  hold.end('go\n');
}
