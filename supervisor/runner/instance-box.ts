// Where one app instance's processes are kept, so that its stop reaches every one of them: its
// cgroup, its uid, or only its process group (containment.ts chooses). The record is what the app
// record file keeps (orphan.ts), so a supervisor restarted in the same boot stops it the same way.

import { basename } from 'node:path';
import { Cgroup } from './cgroup.ts';
import { isInstanceName } from './cgroup-tree.ts';
import { NO_REMNANT, type Remnant } from './process-group.ts';
import { uidRemnant } from './uid-sweep.ts';

export type ContainmentRecord =
  | { mode: 'cgroup'; cgroup: string }
  | { mode: 'uid-sweep'; uid: number }
  | { mode: 'process-group' };

export interface InstanceBox {
  readonly record: ContainmentRecord;
  /** The cgroup the spawned process must join before it execs the app; null: none. */
  readonly cgroup: Cgroup | null;
  /** What a stop signals beyond the process group. */
  readonly rest: Remnant;
  /** Why this instance is contained less strongly than the device could (shown in status). */
  readonly warnings: readonly string[];
  /** Removes what was made for the instance (its cgroup) once nothing is left; false if it could not. */
  dispose(): boolean;
}

/** The instance's cgroup: SIGTERM to its processes, cgroup.kill, empty when not populated. */
export function cgroupBox(cg: Cgroup, warnings: readonly string[] = []): InstanceBox {
  const rest: Remnant = {
    signal: (sig, skip) => (sig === 'SIGKILL' ? cg.kill() : cg.signal(sig, skip)),
    empty: () => !cg.populated(),
  };
  return { record: { mode: 'cgroup', cgroup: cg.dir }, cgroup: cg, rest, warnings, dispose: () => cg.remove() };
}

/** Every process of the app's own uid. */
export function uidBox(uid: number, warnings: readonly string[] = []): InstanceBox {
  return { record: { mode: 'uid-sweep', uid }, cgroup: null, rest: uidRemnant(uid), warnings, dispose: () => true };
}

/** The process group alone. */
export function groupBox(warnings: readonly string[] = []): InstanceBox {
  return { record: { mode: 'process-group' }, cgroup: null, rest: NO_REMNANT, warnings, dispose: () => true };
}

/**
 * The box a record describes, checked: a cgroup must be an absolute path to an instance cgroup
 * (`app-<slot>-<n>`), a uid must be neither root's nor the caller's. Anything else: the group alone.
 */
export function boxFromRecord(record: unknown): InstanceBox {
  if (typeof record !== 'object' || record === null || !('mode' in record)) return groupBox();
  const r = record as Record<string, unknown>;
  if (r['mode'] === 'cgroup' && typeof r['cgroup'] === 'string' && /^\/[^\0]*$/.test(r['cgroup']) && !r['cgroup'].split('/').includes('..') && isInstanceName(basename(r['cgroup']))) {
    return cgroupBox(new Cgroup(r['cgroup']));
  }
  const uid = r['uid'];
  if (r['mode'] === 'uid-sweep' && typeof uid === 'number' && Number.isInteger(uid) && uid > 0 && uid !== process.getuid?.()) return uidBox(uid);
  return groupBox();
}
