// What the guest needs to run `twinslot supervisor` from the checkout payload as a service: the
// boot script that starts it at every boot, and the host-side helpers that wait for it.

import type { StatusReport } from '../../../supervisor/ipc/protocol.ts';
import { GUEST_TWINSLOT } from '../rig/payload.ts';
import type { Vm } from '../rig/vm.ts';

export const TWINSLOT = `node ${GUEST_TWINSLOT}/bin/twinslot.js`;
// On the data disk, so a failed test's kept disk has the log of every boot.
export const SUPERVISOR_LOG = '/data/supervisor.log';

/** Boot script: starts the supervisor in the background with its log in /run. */
export const SUPERVISOR_BOOT_SCRIPT = `#!/bin/sh
cd /
echo "=== boot $(cat /proc/sys/kernel/random/boot_id)" >>${SUPERVISOR_LOG}
setsid ${TWINSLOT} supervisor >>${SUPERVISOR_LOG} 2>&1 </dev/null &
echo $! >/run/supervisor.pid
`;

/** Waits (in the guest) until the supervisor logged `event` in this boot, and returns its pid. */
export async function waitSupervisorEvent(vm: Vm, event: string): Promise<number> {
  const out = await vm.sh(`i=0
until awk '/^=== boot/ { found = 0 } /"event":"${event}"/ { found = 1 } END { exit !found }' ${SUPERVISOR_LOG} 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 1500 ] && { echo "no ${event} in the supervisor log" >&2; cat ${SUPERVISOR_LOG} >&2; exit 1; }
  sleep 0.2
done
cat /run/supervisor.pid`, 400_000);
  return Number(out.trim());
}

/** `twinslot status --json` in the guest. */
export async function guestStatus(vm: Vm): Promise<StatusReport> {
  return JSON.parse(await vm.sh(`${TWINSLOT} status --json`)) as StatusReport;
}
