// How the runner makes every process an app instance starts die with it. Chosen once, when the
// supervisor starts, strongest first:
//
//   cgroup         a cgroup v2 per instance (cgroup-tree.ts). The app cannot leave it, so a stop
//                  (SIGTERM to all of it, cgroup.kill after the grace, wait until it is empty,
//                  rmdir) reaches what it started with setsid or a double fork. Limits apply.
//   uid-sweep      no usable cgroup v2 (not mounted, not writable), the supervisor is root and the
//                  app has a uid of its own: a stop signals every process of that uid as well,
//                  SIGKILL pass after pass until none is left (uid-sweep.ts).
//   process-group  neither (the supervisor is not root, or the app's uid is root's, the agent's,
//                  the supervisor's or nobody's): the app's process group only. A process that
//                  calls setsid outlives a stop; status says so.
//
// A failure for one instance (its cgroup cannot be made or joined) falls back to the next mode
// for that instance with a warning, never to not running the app.

import { isErrno, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ContainmentReport } from '../../ipc/protocol.ts';
import { setupCgroupTree, type CgroupLimits, type CgroupTree } from './cgroup-tree.ts';
import { cgroupBox, groupBox, uidBox, type InstanceBox } from './instance-box.ts';

/** nobody's uid: shared by whatever runs unprivileged, never an app's own. */
const NOBODY_UID = 65534;

export interface ContainmentOptions {
  logger: Logger;
  /** Limits for each instance's cgroup (device config `app.memoryMax`, `app.cpuWeight`). */
  limits: CgroupLimits;
  /** Uids never swept besides root and nobody: the supervisor's own, the agent's. */
  protectedUids: readonly number[];
  /** Tests: a cgroup of their own to make instances in (nothing is moved), or `false` for no cgroup. */
  cgroupBase?: string | false;
  /** Tests: false kills through the freezer, as on kernels without cgroup.kill. */
  useKillFile?: boolean;
}

/** The device's containment (see the header); `open` and `adopt` give each instance its box. */
export class Containment {
  readonly mode: ContainmentReport['mode'];
  readonly #tree: CgroupTree | null;
  readonly #warnings: readonly string[];
  readonly #protected: ReadonlySet<number>;
  readonly #logger: Logger;

  private constructor(mode: ContainmentReport['mode'], tree: CgroupTree | null, warnings: string[], protectedUids: readonly number[], logger: Logger) {
    this.mode = mode;
    this.#tree = tree;
    this.#warnings = warnings;
    this.#protected = new Set([0, NOBODY_UID, ...protectedUids]);
    this.#logger = logger;
  }

  /** Finds the strongest containment this process can use, and logs it. */
  static detect(opts: ContainmentOptions): Containment {
    const { logger } = opts;
    let c: Containment;
    if (process.getuid?.() !== 0) {
      c = new Containment('process-group', null, ['the supervisor is not root: a stop reaches only the app\'s process group'], opts.protectedUids, logger);
    } else {
      const setup = opts.cgroupBase === false
        ? { ok: false as const, reason: 'cgroup v2 is not used (disabled by the caller)' }
        : setupCgroupTree({ limits: opts.limits, pid: process.pid, ...(opts.cgroupBase === undefined ? {} : { base: opts.cgroupBase }), ...(opts.useKillFile === undefined ? {} : { useKillFile: opts.useKillFile }) });
      c = setup.ok ? new Containment('cgroup', setup.tree, [...setup.tree.warnings], opts.protectedUids, logger) : new Containment('uid-sweep', null, [setup.reason], opts.protectedUids, logger);
    }
    for (const warning of c.#warnings) logger.warn({ event: 'app-containment-warning', mode: c.mode, warning }, warning);
    logger.info({ event: 'app-containment', mode: c.mode, ...(c.#tree ? { cgroup: c.#tree.base.dir, limits: c.#tree.limits } : {}) }, `app containment: ${c.mode}`);
    return c;
  }

  /** The process group alone (a runner made without a containment: tests, no root). */
  static processGroup(logger: Logger): Containment {
    return new Containment('process-group', null, [], [], logger);
  }

  /** The box for a new instance of the app from slot `label` that runs as `uid` (null: as the supervisor). */
  open(label: string, uid: number | null): InstanceBox {
    if (this.#tree !== null) {
      try {
        return cgroupBox(this.#tree.makeInstance(label));
      } catch (err) {
        return this.#fallback(uid, `cannot make the instance's cgroup: ${messageOf(err)}`);
      }
    }
    if (this.mode === 'uid-sweep') return this.#sweepable(uid) ? uidBox(uid) : groupBox([`the app runs as uid ${uid ?? process.getuid?.()}, whose processes are never swept`]);
    return groupBox();
  }

  /**
   * Puts the spawned, still held process `pid` into `box`'s cgroup. A cgroup removed meanwhile
   * (another supervisor's start-up clean-up on the same tree: tests) is made again once; any other
   * failure gives the next mode's box.
   */
  adopt(box: InstanceBox, pid: number, label: string, uid: number | null, again = true): InstanceBox {
    if (box.cgroup === null) return box;
    try {
      box.cgroup.move(pid);
      return box;
    } catch (err) {
      box.dispose();
      if (again && isErrno(err, 'ENOENT')) return this.adopt(this.open(label, uid), pid, label, uid, false);
      return this.#fallback(uid, `cannot move the app into ${box.cgroup.dir}: ${messageOf(err)}`);
    }
  }

  /** For status: the running instance's containment, or the device's while none runs. */
  report(box: InstanceBox | null): ContainmentReport {
    const warnings = [...this.#warnings, ...(box?.warnings ?? [])];
    const record = box?.record ?? null;
    const mode = record?.mode ?? this.mode;
    if (mode === 'cgroup' && this.#tree !== null) {
      const { memoryMax, cpuWeight } = this.#tree.limits;
      return { mode, root: this.#tree.base.dir, cgroup: record?.mode === 'cgroup' ? record.cgroup : null, memoryMax, cpuWeight, warnings };
    }
    if (mode === 'uid-sweep') return { mode, uid: record?.mode === 'uid-sweep' ? record.uid : null, warnings };
    return { mode: 'process-group', warnings };
  }

  #sweepable(uid: number | null): uid is number {
    return uid !== null && !this.#protected.has(uid);
  }

  #fallback(uid: number | null, why: string): InstanceBox {
    const warnings = [why];
    const box = this.#sweepable(uid) ? uidBox(uid, warnings) : groupBox([...warnings, 'the app\'s uid is never swept']);
    this.#logger.error({ event: 'app-containment-degraded', mode: box.record.mode, err: why }, 'the app instance runs with a weaker containment');
    return box;
  }
}
