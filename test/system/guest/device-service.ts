// A whole twinslot device in the VM, as install.sh leaves it: the release installed from the
// payload disk with the fleet's credentials and an initial bundle committed in slot a, and a boot
// script that starts `twinslot supervisor` as root and `twinslot agent` as the `twinslot` user
// (what the systemd units do; the rig has no systemd).

import type { StatusReport } from '../../../ipc/protocol.ts';
import { DEVICE_TYPE, THING, type Fleet } from '../rig/fleet.ts';
import { GUEST_RELEASE, INSTALLED_TWINSLOT } from '../rig/release.ts';
import type { TestVmOptions } from '../rig/harness.ts';
import type { Vm } from '../rig/vm.ts';
import { readFile } from 'node:fs/promises';
import { SUPERVISOR_LOG } from './supervisor-service.ts';

export const AGENT_LOG = '/data/agent.log';
export const WATCHDOG_TIMEOUT_S = 15;

// Short retry and poll periods: the scenarios wait on the agent, never on its defaults.
const CONFIG = {
  supervisor: { watchdog: { timeoutSeconds: WATCHDOG_TIMEOUT_S }, trial: { attempts: 3 }, rebootCommand: ['/sbin/reboot'] },
  agent: {
    connection: { backoff: { baseMs: 500, maxMs: 3000 }, healthCheckMs: 2000, keepAliveSeconds: 20, stableAfterMs: 2000 },
    jobs: { updateBackoff: { baseMs: 300, maxMs: 3000 }, trialPollMs: 1000, progressIntervalMs: 1000, stepTimeouts: { checkMinutes: 5, downloadMinutes: 10, installMinutes: 10, trialMinutes: 10, rebootMinutes: 2 } },
    update: { caPath: '/etc/twinslot/certs/ca.pem', backoff: { baseMs: 300, maxMs: 3000 }, connectTimeoutMs: 10_000, idleTimeoutMs: 10_000, reserveBytes: 1024 * 1024 },
  },
};

/** Boot script: the installed supervisor (root) and agent (user twinslot), logs on the data disk. */
export const DEVICE_BOOT_SCRIPT = `#!/bin/sh
cd /
[ -e ${INSTALLED_TWINSLOT} ] || { echo "twinslot-rig: twinslot is not installed"; exit 0; }
boot=$(cat /proc/sys/kernel/random/boot_id)
echo "=== boot $boot" >>${SUPERVISOR_LOG}
echo "=== boot $boot" >>${AGENT_LOG}
NODE_COMPILE_CACHE=/var/lib/twinslot/cache/supervisor setsid ${INSTALLED_TWINSLOT} supervisor --config /etc/twinslot/config.json >>${SUPERVISOR_LOG} 2>&1 </dev/null &
echo $! >/run/supervisor.pid
# The agent as its unit runs it (Restart=always): one that dies is started again, with a line saying how it ended.
(
  while :; do
    echo "=== agent starting at uptime $(cut -d' ' -f1 /proc/uptime)" >>${AGENT_LOG}
    setsid su -s /bin/sh twinslot -c 'NODE_COMPILE_CACHE=/var/lib/twinslot/agent/cache exec ${INSTALLED_TWINSLOT} agent --config /etc/twinslot/config.json' >>${AGENT_LOG} 2>&1 </dev/null &
    pid=$!
    echo $pid >/run/agent.pid
    wait $pid
    s=$?
    [ $s -eq 0 ] && break
    echo "=== restart: the agent ended with status $s" >>${AGENT_LOG}
    sleep 2
  done
) &
`;

/** What a scenario adds to the device: files on the data disk, lines run at the end of every boot. */
export interface DeviceExtras { data?: Record<string, string>; bootScript?: string }

/** VM options for a device of `fleet` (credentials on the data disk, emulator ports mirrored). */
export async function deviceVmOptions(fleet: Fleet, payloadImage: string, initialBundle: string, extra: DeviceExtras = {}): Promise<TestVmOptions> {
  const c = fleet.credentials;
  return {
    payloadImage,
    data: {
      'etc/twinslot/config.json': JSON.stringify(CONFIG, null, 2),
      'rig/device.crt': await readFile(c.cert), 'rig/device.key': await readFile(c.key),
      'rig/ca.pem': await readFile(c.ca), 'rig/release.pem': await readFile(c.trust),
      'rig/initial.tar': await readFile(initialBundle),
      ...extra.data,
    },
    bootScript: DEVICE_BOOT_SCRIPT + (extra.bootScript ?? ''),
    loopback: fleet.loopback,
    collectOnFailure: [SUPERVISOR_LOG, AGENT_LOG, '/run/install.log'],
  };
}

/** Runs install.sh in the guest (initial bundle into slot a), then reboots into the device. */
export async function installDevice(vm: Vm, fleet: Fleet): Promise<void> {
  const r = await vm.exec(`${GUEST_RELEASE}/install.sh --thing-name ${THING} --endpoint 127.0.0.1:${fleet.emulator.port} --device-type ${DEVICE_TYPE} \\
    --cert /data/rig/device.crt --key /data/rig/device.key --ca /data/rig/ca.pem --trust /data/rig/release.pem \\
    --initial-bundle /data/rig/initial.tar --watchdog /dev/watchdog --no-start >/run/install.log 2>&1; rc=$?; cat /run/install.log; sync; exit $rc`, 900_000);
  if (r.code !== 0) throw new Error(`install.sh failed (${r.code}):\n${r.stdout}${r.stderr}`);
  const boots = vm.boots.length;
  await vm.reset();
  await vm.waitBoot(boots);
}

export interface DeviceCheck {
  status: StatusReport;
  /** state.json as parsed (JSON.parse throws on a torn file). */
  state: { committed?: string | null; trial?: unknown };
}

/**
 * Waits until the supervisor answers with no trial and the committed app running, then reads
 * state.json: the device is up on a committed version that runs.
 */
export async function waitSettled(vm: Vm, timeoutS = 300): Promise<DeviceCheck> {
  // Cheap shell checks first (a Node start costs seconds under TCG), then one status request.
  const out = await vm.sh(`i=0
export NODE_COMPILE_CACHE=/var/lib/twinslot/cache/status
settled() {
  grep -q '^  "trial": null' /var/lib/twinslot/state.json 2>/dev/null && grep -qsa 'APP_VERSION=' /proc/[0-9]*/environ &&
    s=$(${INSTALLED_TWINSLOT} status --json 2>/dev/null) && echo "$s" | grep -q '"trial":null' && echo "$s" | grep -q '"pid":[0-9]'
}
until settled; do
  i=$((i + 1)); [ $i -gt ${timeoutS} ] && { echo "not settled: $s" >&2; exit 1; }
  sleep 1
done
echo "$s"; cat /var/lib/twinslot/state.json`, (timeoutS + 60) * 1000);
  const nl = out.indexOf('\n');
  return { status: JSON.parse(out.slice(0, nl)) as StatusReport, state: JSON.parse(out.slice(nl + 1)) as DeviceCheck['state'] };
}

/** The version whose app runs (read from the app process's own environment). */
export async function runningAppVersion(vm: Vm): Promise<string> {
  return (await vm.sh(`f=$(grep -las APP_VERSION= /proc/[0-9]*/environ | grep -v self | head -n 1)
[ -n "$f" ] && tr '\\0' '\\n' <"$f" | sed -n 's/^APP_VERSION=//p'; true`)).trim();
}
