// The supervisor's cgroup v2 subtree: one cgroup per app instance, made beside the supervisor's
// own leaf, with the memory and cpu limits of the device config.
//
//   <base>/supervisor        the supervisor (and the short commands it runs)
//   <base>/app-<slot>-<n>    one app instance; its processes cannot leave it (the directories
//                            are root's), so cgroup.kill reaches all of them
//
// <base> is the supervisor's own cgroup when a service manager gave it one (systemd's unit
// cgroup with Delegate=yes): the supervisor moves itself into <base>/supervisor first, because a
// cgroup that hands controllers to its children may hold no processes itself (cgroup v2's "no
// internal processes" rule). A supervisor started in <base>/supervisor already (systemd's
// DelegateSubgroup=supervisor, or a restart from there) keeps <base> as the parent. A supervisor
// in the hierarchy's root (no service manager; the root is exempt from that rule) uses
// <root>/twinslot. The names are stable, so a later supervisor finds an instance from its record
// (orphan.ts) and an app cgroup can outlive a restart of the supervisor's unit.

import { readFileSync } from 'node:fs';
import { messageOf } from '../../common/errors.ts';
import { Cgroup, cgroupDirectory, findCgroup2Mount, unifiedCgroupPath } from './cgroup.ts';

export const SUPERVISOR_LEAF = 'supervisor';
const ROOT_BASE = 'twinslot';
const INSTANCE = /^app-([a-z0-9]+)-(\d+)$/;

export interface CgroupLimits {
  /** memory.max in bytes; null: none. */
  memoryMax: number | null;
  /** cpu.weight (1..10000); null: the kernel's default. */
  cpuWeight: number | null;
}

export interface CgroupTreeInput {
  limits: CgroupLimits;
  /** The process to place in the supervisor's leaf (the supervisor itself). */
  pid: number;
  /** /proc/<pid>/mountinfo and /proc/<pid>/cgroup (tests give their own). */
  mountinfo?: string;
  procCgroup?: string;
  /** Overrides the base (tests: a cgroup of their own; nothing is moved then). */
  base?: string;
  /** false: kill through the freezer even where cgroup.kill exists (tests of older kernels). */
  useKillFile?: boolean;
}

export type CgroupSetup = { ok: true; tree: CgroupTree } | { ok: false; reason: string };

/** Sets the subtree up (see the header), or says why cgroup v2 cannot be used here. */
export function setupCgroupTree(input: CgroupTreeInput): CgroupSetup {
  try {
    const placed = input.base === undefined ? placeSupervisor(input) : { base: new Cgroup(input.base, { useKillFile: input.useKillFile ?? true }), hierarchyRoot: null };
    if (typeof placed === 'string') return { ok: false, reason: placed };
    const warnings: string[] = [];
    const limits = enableControllers(placed.base, placed.hierarchyRoot, input.limits, warnings);
    const tree = new CgroupTree(placed.base, limits, warnings);
    tree.removeEmptyInstances();
    return { ok: true, tree };
  } catch (err) {
    return { ok: false, reason: `cgroup v2 is not usable: ${messageOf(err)}` };
  }
}

// Finds the supervisor's cgroup and moves it into its leaf; a string says why it cannot.
function placeSupervisor(input: CgroupTreeInput): { base: Cgroup; hierarchyRoot: Cgroup | null } | string {
  const mount = findCgroup2Mount(input.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!mount) return 'cgroup v2 is not mounted';
  const path = unifiedCgroupPath(input.procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  if (path === null) return 'no cgroup v2 entry in /proc/self/cgroup';
  const dir = cgroupDirectory(mount, path);
  if (dir === null) return `the supervisor's cgroup ${path} is outside the cgroup2 mount ${mount.mountPoint}`;
  const own = new Cgroup(dir);
  if (own.isHierarchyRoot()) {
    const base = own.child(ROOT_BASE);
    base.make();
    return { base, hierarchyRoot: own };
  }
  if (own.name === SUPERVISOR_LEAF) return { base: own.parent(), hierarchyRoot: null };
  const leaf = own.child(SUPERVISOR_LEAF);
  leaf.make();
  leaf.move(input.pid);
  return { base: own, hierarchyRoot: null };
}

// Enables memory/cpu for the instances where a limit asks for them; what cannot be applied is a
// warning, and its limit becomes null.
function enableControllers(base: Cgroup, hierarchyRoot: Cgroup | null, want: CgroupLimits, warnings: string[]): CgroupLimits {
  const applied: CgroupLimits = { ...want };
  const asks: Array<[controller: string, key: keyof CgroupLimits, setting: string]> = [['memory', 'memoryMax', 'app.memoryMax'], ['cpu', 'cpuWeight', 'app.cpuWeight']];
  for (const [controller, key, setting] of asks) {
    if (want[key] === null) continue;
    try {
      if (hierarchyRoot !== null && !hierarchyRoot.subtreeControl().includes(controller) && hierarchyRoot.controllers().includes(controller)) hierarchyRoot.write('cgroup.subtree_control', `+${controller}`);
      if (!base.controllers().includes(controller)) throw new Error(`the ${controller} controller is not available in ${base.dir} (cgroup.controllers: ${base.controllers().join(' ') || 'none'})`);
      if (!base.subtreeControl().includes(controller)) base.write('cgroup.subtree_control', `+${controller}`);
    } catch (err) {
      warnings.push(`${setting} is not applied: ${messageOf(err)}`);
      applied[key] = null;
    }
  }
  return applied;
}

/** The subtree the supervisor makes app instance cgroups in. */
export class CgroupTree {
  readonly base: Cgroup;
  /** The limits each instance gets (null where the controller is not available). */
  readonly limits: CgroupLimits;
  /** Why a configured limit is not applied. */
  readonly warnings: readonly string[];
  #next: number;

  constructor(base: Cgroup, limits: CgroupLimits, warnings: string[]) {
    this.base = base;
    this.limits = limits;
    this.warnings = warnings;
    this.#next = 1 + Math.max(0, ...base.children().map((n) => Number(INSTANCE.exec(n)?.[2] ?? 0)));
  }

  /** Makes the cgroup of a new instance of the app from slot `label`, with the limits. */
  makeInstance(label: string): Cgroup {
    const safe = label.toLowerCase().replace(/[^a-z0-9]/g, '') || 'x';
    for (;;) {
      const cg = this.base.child(`app-${safe}-${this.#next++}`);
      if (!cg.make()) continue; // a leftover still populated, or another supervisor's (tests)
      try {
        applyLimits(cg, this.limits);
      } catch (err) {
        cg.remove();
        throw err;
      }
      return cg;
    }
  }

  /** Removes instance cgroups left empty (by a supervisor that was killed); populated ones stay. */
  removeEmptyInstances(): void {
    for (const name of this.base.children()) if (INSTANCE.test(name)) this.base.child(name).remove();
  }

}

/** Writes `limits` into an instance's cgroup; an OOM kill then takes the whole instance, not one process of it. */
export function applyLimits(cg: Cgroup, limits: CgroupLimits): void {
  if (limits.memoryMax !== null) {
    cg.write('memory.max', String(limits.memoryMax));
    cg.write('memory.oom.group', '1');
  }
  if (limits.cpuWeight !== null) cg.write('cpu.weight', String(limits.cpuWeight));
}

/** True when `name` is an instance cgroup's (a recorded one is checked with it before it is killed). */
export function isInstanceName(name: string): boolean {
  return INSTANCE.test(name);
}
