// What the guest needs to run `twinslot supervisor` from the checkout payload as a service: the
// boot script that starts it at every boot, and the host-side helpers that wait for it.

import type { StatusReport } from '../../../ipc/protocol.ts';
import { GUEST_TWINSLOT } from '../rig/payload.ts';
import type { Vm } from '../rig/vm.ts';

export const TWINSLOT = `node ${GUEST_TWINSLOT}/bin/twinslot.js`;
// On the data disk, so a failed test's kept disk has the log of every boot.
export const SUPERVISOR_LOG = '/data/supervisor.log';

/**
 * Boot script: starts `cli supervisor` in the background (pid in /run/supervisor.pid, log
 * appended to SUPERVISOR_LOG after a boot marker); does nothing while `cli` is not installed.
 * Like systemd for the unit (`Restart=always`, `RestartSec=2`), a supervisor that dies is started
 * again 2 s later, with a `=== restart` line saying how it ended; a clean exit (0, after
 * SIGTERM) is left alone, so the clean-shutdown scenario still sees it stop.
 */
export function supervisorBootScript(cli = TWINSLOT): string {
  return `#!/bin/sh
cd /
[ -e ${cli.split(' ').pop() ?? cli} ] || { echo "twinslot-rig: ${cli} is not installed"; exit 0; }
echo "=== boot $(cat /proc/sys/kernel/random/boot_id)" >>${SUPERVISOR_LOG}
(
  while :; do
    setsid ${cli} supervisor >>${SUPERVISOR_LOG} 2>&1 </dev/null &
    pid=$!
    echo $pid >/run/supervisor.pid
    wait $pid
    s=$?
    [ $s -eq 0 ] && break
    rm -f /run/supervisor.pid
    echo "=== restart: the supervisor ended with status $s" >>${SUPERVISOR_LOG}
    sleep 2
  done
) &
`;
}

/** The boot script for the checkout's twinslot on the source payload. */
export const SUPERVISOR_BOOT_SCRIPT = supervisorBootScript();

/** Waits (in the guest) until the supervisor logged `event` in this boot, and returns its pid. */
export async function waitSupervisorEvent(vm: Vm, event: string): Promise<number> {
  const out = await vm.sh(`i=0
# 0: logged in this boot; 1: not yet; 2: the CLI reported a fatal error in this boot.
seen() {
  [ -f ${SUPERVISOR_LOG} ] || return 1
  awk 'BEGIN { s = 1 } /^=== boot/ { s = 1 } /^twinslot supervisor: / { s = 2 } /"event":"${event}"/ { s = 0 } END { exit s }' ${SUPERVISOR_LOG}
}
while :; do
  seen; s=$?
  [ $s -eq 0 ] && break
  i=$((i + 1))
  if [ $s -eq 2 ] || [ $i -gt 1500 ] || { [ -s /run/supervisor.pid ] && ! kill -0 "$(cat /run/supervisor.pid)" 2>/dev/null; }; then
    echo "no ${event} in the supervisor log (failed, gone or too slow)" >&2; tail -n 40 ${SUPERVISOR_LOG} >&2; exit 1
  fi
  sleep 0.2
done
cat /run/supervisor.pid`, 400_000);
  return Number(out.trim());
}

/** `twinslot status --json` in the guest. */
export async function guestStatus(vm: Vm, cli = TWINSLOT): Promise<StatusReport> {
  return JSON.parse(await vm.sh(`${cli} status --json`)) as StatusReport;
}
