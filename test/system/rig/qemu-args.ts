// The qemu-system-x86_64 command line of a rig VM.

import { CONTROL_PORT_NAME, HOST_ALIAS } from './guest-scripts.ts';
import type { GuestImages } from './images.ts';

/** A TCP port at HOST_ALIAS inside the VM that reaches 127.0.0.1:hostPort on the host. */
export interface Forward {
  guestPort: number;
  hostPort: number;
}

export type WatchdogAction = 'reset' | 'pause' | 'none';

export interface QemuSetup {
  images: GuestImages;
  rootDisk: string;
  dataDisk: string;
  /** A read-only ext4 image mounted at /payload. */
  payloadImage?: string | undefined;
  consoleLog: string;
  qmpSocket: string;
  controlSocket: string;
  forwards: Forward[];
  /** Absolute path of the host's busybox, whose nc relays guestfwd connections. */
  relay: string;
  memoryMb: number;
  watchdogAction: WatchdogAction;
}

/**
 * argv for qemu-system-x86_64 (TCG: KVM guests hung at boot on the CI machine). Two vCPUs: TCG
 * runs each on its own host thread, and after every boot the supervisor and the agent start
 * Node at the same moment (one vCPU made a power cut cost ~25 s of start-up instead of ~8).
 */
export function qemuArgs(s: QemuSetup): string[] {
  // cmd: spawns one relay per guest connection (a -tcp: target would be a single connection
  // made once at QEMU start, so a client that reconnects would find nothing there).
  const guestfwd = s.forwards
    .map((f) => `,guestfwd=tcp:${HOST_ALIAS}:${f.guestPort}-cmd:${s.relay} nc 127.0.0.1 ${f.hostPort}`)
    .join('');
  return [
    '-accel', 'tcg', '-machine', 'pc', '-smp', '2', '-m', String(s.memoryMb),
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-kernel', s.images.kernel.vmlinuz, '-initrd', s.images.initramfs,
    '-append', 'console=ttyS0 panic=1 loglevel=4 mitigations=off',
    // append=on: one log across the QEMU restarts of a test (power cuts).
    '-chardev', `file,id=con,path=${s.consoleLog},append=on`, '-serial', 'chardev:con',
    // QEMU connects to the rig's sockets (the rig listens before QEMU starts).
    '-chardev', `socket,id=qmp,path=${s.qmpSocket},reconnect=1`, '-mon', 'chardev=qmp,mode=control',
    '-device', 'virtio-serial-pci',
    '-chardev', `socket,id=ctl,path=${s.controlSocket},reconnect=1`,
    '-device', `virtserialport,chardev=ctl,name=${CONTROL_PORT_NAME}`,
    '-device', 'i6300esb', '-watchdog-action', s.watchdogAction,
    '-device', 'virtio-rng-pci',
    '-netdev', `user,id=n0,restrict=on${guestfwd}`, '-device', 'virtio-net-pci,netdev=n0',
    ...disk('root', s.rootDisk, false),
    ...disk('data', s.dataDisk, false),
    ...(s.payloadImage ? disk('payload', s.payloadImage, true) : []),
  ];
}

function disk(serial: string, file: string, readonly: boolean): string[] {
  return [
    '-drive', `file=${file},format=raw,if=none,id=${serial},cache=writeback${readonly ? ',readonly=on' : ''}`,
    '-device', `virtio-blk-pci,drive=${serial},serial=${serial}`,
  ];
}
