// Every on-device path, derived from one root ("/" on a device, a temp dir in tests).
// Nothing else in twinslot builds a device path by hand.

import { join, resolve } from 'node:path';

export type SlotName = 'a' | 'b';
export const SLOT_NAMES: readonly SlotName[] = ['a', 'b'];

/** The other slot. */
export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

export interface DevicePaths {
  root: string;
  configDir: string;
  config: string;
  trustDir: string;
  certsDir: string;
  libDir: string;
  slotsDir: string;
  slot(name: SlotName): string;
  current: string;
  state: string;
  stateBackup: string;
  agentDir: string;
  /** Root-only: what a prepared slot held, moved here before it is deleted with the agent's uid. */
  trashDir: string;
  runDir: string;
  supervisorSocket: string;
  /** root:<app group> 0750: only the app's group reaches what is in it. */
  appRunDir: string;
  /** sd_notify-style socket the supervisor gives the app as NOTIFY_SOCKET (inside appRunDir). */
  notifySocket: string;
  /** The app's process group and boot id, for stopping an orphan after a same-boot restart. */
  appRecord: string;
  /** The agent's own status, shown verbatim by `twinslot status`. */
  agentStatus: string;
  /** Linux exposes the boot id here; tests put a file of their own under the root. */
  bootId: string;
}

/** Paths under `root`. */
export function devicePaths(root = '/'): DevicePaths {
  const r = resolve(root);
  const configDir = join(r, 'etc', 'twinslot');
  const libDir = join(r, 'var', 'lib', 'twinslot');
  const slotsDir = join(libDir, 'slots');
  const runDir = join(r, 'run', 'twinslot');
  return {
    root: r,
    configDir,
    config: join(configDir, 'config.json'),
    trustDir: join(configDir, 'trust'),
    certsDir: join(configDir, 'certs'),
    libDir,
    slotsDir,
    slot: (name) => join(slotsDir, name),
    current: join(libDir, 'current'),
    state: join(libDir, 'state.json'),
    stateBackup: join(libDir, 'state.json.prev'),
    agentDir: join(libDir, 'agent'),
    trashDir: join(libDir, 'trash'),
    runDir,
    supervisorSocket: join(runDir, 'supervisor.sock'),
    appRunDir: join(runDir, 'app'),
    notifySocket: join(runDir, 'app', 'notify.sock'),
    appRecord: join(runDir, 'app.json'),
    agentStatus: join(libDir, 'agent', 'status.json'),
    bootId: join(r, 'proc', 'sys', 'kernel', 'random', 'boot_id'),
  };
}
